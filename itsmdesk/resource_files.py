"""Where the app's resources are (translations, ready import mappings).

The source tree keeps them in the top-level ``resources/``; the wheel carries the same folder
inside the package, as ``itsmdesk/resources`` (``setup.py`` maps it), so an installed app finds
them without the checkout.  No Qt here: services and the CLI use it too.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def resources_dir() -> Path:
    """``itsmdesk/resources`` when installed, else the checkout's ``resources/``."""
    inside = _PACKAGE / "resources"
    return inside if inside.is_dir() else _PACKAGE.parent / "resources"


def translations_dir() -> Path:
    return resources_dir() / "translations"


def import_maps_dir() -> Path:
    return resources_dir() / "import-maps"
