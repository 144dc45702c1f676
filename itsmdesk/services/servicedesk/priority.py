"""Impact x urgency -> priority, through a matrix kept in the database (configurable)."""

from __future__ import annotations

from itsmdesk import config
from itsmdesk.errors import N_, ValidationError
from itsmdesk.models.base import Setting
from itsmdesk.services import records
from itsmdesk.services.context import SYSTEM, Actor

# impact (1 high .. 3 low) x urgency (1 high .. 3 low) -> priority 1 critical .. 5 planning
DEFAULT_MATRIX: dict[str, int] = {
    "1,1": 1, "1,2": 2, "1,3": 3,
    "2,1": 2, "2,2": 3, "2,3": 4,
    "3,1": 3, "3,2": 4, "3,3": 5,
}
SETTING_KEY = config.PRIORITY_MATRIX.key


def matrix() -> dict[str, int]:
    row = Setting.get_or_none(Setting.key == SETTING_KEY)
    return dict(row.value) if row and row.value else dict(DEFAULT_MATRIX)


def matrix_for_editing() -> tuple[dict[str, int], int]:
    """The matrix and the version to save it against (0 while it was never saved: a matrix
    someone else saves meanwhile then conflicts like any other stale edit)."""
    return matrix(), records.setting_version(SETTING_KEY) or 0


def set_matrix(new: dict[str, int], actor: Actor = SYSTEM, version: int | None = None) -> int:
    """Store the matrix (versioned and journalled as the setting ``priority_matrix``); returns
    its new version."""
    from itsmdesk.services.permissions import require

    require(actor, "settings.manage")
    for key in DEFAULT_MATRIX:
        if key not in new or new[key] not in (1, 2, 3, 4, 5):
            raise ValidationError(N_("The priority matrix needs a priority 1-5 for impact,urgency {key}"),
                                  key=key)
    return records.set_setting(SETTING_KEY, dict(new), actor, version)


def priority_for(impact: int, urgency: int, table: dict[str, int] | None = None) -> int:
    for name, value in (("impact", impact), ("urgency", urgency)):
        if value not in (1, 2, 3):
            raise ValidationError(N_("{name} must be 1 (high), 2 (medium) or 3 (low)"), field=name,
                                  name=name.capitalize())
    return (table or matrix())[f"{impact},{urgency}"]
