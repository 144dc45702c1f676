"""QApplication set-up: platform checks, translations, style, then the main window."""

from __future__ import annotations

import os
import sys
from pathlib import Path

XCB_HELP = ("Qt could not start its X11 (xcb) platform plugin. On Debian/Ubuntu install: "
            "sudo apt install libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 "
            "libxcb-render-util0 libxcb-xinerama0 libxcb-xkb1 libxkbcommon-x11-0 libxcb-shape0 "
            "libxcb-randr0 — or run headless with QT_QPA_PLATFORM=offscreen.")


def resources_dir() -> Path:
    """Resources next to the package (source checkout) or installed inside it."""
    from itsmdesk.resource_files import resources_dir as found

    return found()


def missing_display_reason() -> str | None:
    """Why Qt's xcb plugin would abort, checked before Qt gets the chance to abort the process."""
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform and not platform.startswith("xcb"):
        return None
    if sys.platform != "linux":
        return None
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        return ("No display: DISPLAY is not set. Run itsmdesk in a desktop session, or headless "
                "with QT_QPA_PLATFORM=offscreen.")
    import ctypes.util

    if os.environ.get("WAYLAND_DISPLAY") and not os.environ.get("DISPLAY"):
        return None
    for lib in ("xcb-cursor", "xkbcommon-x11", "xcb-icccm", "xcb-keysyms", "xcb-image",
                "xcb-render-util", "xcb-shape", "xcb-randr", "xcb-xkb"):
        if ctypes.util.find_library(lib) is None:
            return f"Missing system library lib{lib}. " + XCB_HELP
    return None


def make_application(argv: list[str] | None = None):
    from PySide6.QtCore import QCoreApplication
    from PySide6.QtWidgets import QApplication

    from itsmdesk.i18n import install_translators, use_language_locale

    app = QApplication.instance() or QApplication(argv or sys.argv[:1])
    QCoreApplication.setOrganizationName("itsmdesk")
    QCoreApplication.setApplicationName("itsmdesk")
    install_translators(app)  # ITSMDESK_LANG or the system language; Qt's own texts too
    use_language_locale()  # dates and numbers in the same language
    # No application style sheet: see itsmdesk/views/style.py for why and where the look lives.
    from PySide6.QtGui import QIcon

    icons = resources_dir() / "icons"
    icon = QIcon()
    for name in ("itsmdesk.svg", "itsmdesk-256.png", "itsmdesk-64.png"):
        if (icons / name).exists():
            icon.addFile(str(icons / name))
    app.setWindowIcon(icon)
    return app


def start(url: str, demo: bool = False, settings=None, sign_in: bool = False):  # noqa: ANN001, ANN201
    """The main window, shown at once; the database (``url``) opens on the writer thread
    meanwhile (connect, create or upgrade, and with ``demo`` fill an empty one) and the panels'
    reads wait for it.  Returns (AppContext, MainWindow).  A malformed URL is refused before
    any window (DatabaseUnavailableError).  ``sign_in``: once the database is open, ask who
    signs in when it has accounts ($ITSMDESK_USER/$ITSMDESK_PASSWORD answer without asking), or
    for the administrator of a fresh local database (``run`` does; tests choose)."""
    from itsmdesk.models.database import parse_url
    from itsmdesk.views.context import AppContext
    from itsmdesk.views.main_window import MainWindow

    info = parse_url(url)
    ctx = AppContext(info, open_url=url, demo=demo)
    window = MainWindow(ctx, settings)
    if sign_in:
        from itsmdesk.views.signin import ask_at_start

        ctx.sig_database_open.connect(lambda: ask_at_start(ctx, window))
    window.show()
    return ctx, window


def run(url: str, demo: bool = False, use_saved: bool = False) -> int:
    """``use_saved``: no --db or $ITSMDESK_DB was given, so the shared database chosen with
    File > Connect (kept without its password) wins over the default file."""
    reason = missing_display_reason()
    if reason:
        print(f"itsmdesk: error: {reason}", file=sys.stderr)
        return 2
    app = make_application()
    from PySide6.QtCore import QSettings

    from itsmdesk.views.signin.connect_dialog import password_at_start, saved_url

    settings = QSettings()
    if use_saved and saved_url(settings):
        url = saved_url(settings)
    url = password_at_start(url, settings)  # a PostgreSQL password: env, keyring or asked
    if url is None:
        return 0
    ctx, window = start(url, demo, sign_in=True)
    failed: list[BaseException] = []

    def could_not_open(error: BaseException) -> None:
        from itsmdesk.views.messages import show_error

        failed.append(error)
        show_error(window, error)
        app.exit(2)

    ctx.sig_database_failed.connect(could_not_open)
    from itsmdesk import config

    if config.value(config.EXIT_WHEN_READY):
        _exit_when_ready(app, window)
    code = app.exec()
    return 2 if failed else code


def _exit_when_ready(app, window, limit_s: float = 60.0) -> None:  # noqa: ANN001
    """ITSMDESK_EXIT_WHEN_READY: quit with 0 once the person signed in sees queue rows, 3 after
    ``limit_s``."""
    import time

    from PySide6.QtCore import QTimer

    started = time.monotonic()
    timer = QTimer(window, interval=100)

    def check() -> None:
        panel = window.panels.get("queuesDock")
        rows = panel.model.rowCount() if panel is not None else 0
        ctx = window.ctx
        # ready: the database said whether it has accounts, whoever must sign in has (the
        # smoke test signs in with $ITSMDESK_USER/$ITSMDESK_PASSWORD), and their queue shows
        decided = hasattr(ctx, "accounts_enabled")
        signed_in = not getattr(ctx, "accounts_enabled", False) or ctx.actor.person_id is not None
        if rows and decided and signed_in:
            print(f"itsmdesk: ready: the window shows {rows} queue rows for {ctx.actor.name} "
                  f"after {time.monotonic() - started:.1f} s")
            app.exit(0)
        elif time.monotonic() - started > limit_s:
            print(f"itsmdesk: error: no queue rows for a signed-in person after {limit_s:.0f} s",
                  file=sys.stderr)
            app.exit(3)

    timer.timeout.connect(check)
    timer.start()
