"""SLA targets per priority and the due dates they give.

The foundation counts wall-clock minutes; the service desk work replaces this with business
calendars (working hours, holidays) and pauses while pending.
"""

from __future__ import annotations

import datetime as dt

from itsmdesk.models.servicedesk import SLADefinition

# priority -> (response minutes, resolution minutes), used when no SLA row exists
DEFAULT_TARGETS = {1: (15, 240), 2: (30, 480), 3: (120, 1440), 4: (480, 4320), 5: (1440, 10080)}


def targets(kind: str, priority: int) -> tuple[int, int]:
    row = SLADefinition.get_or_none((SLADefinition.ticket_kind == kind)
                                    & (SLADefinition.priority == priority))
    if row:
        return row.response_minutes, row.resolution_minutes
    return DEFAULT_TARGETS.get(priority, DEFAULT_TARGETS[5])


def due_dates(kind: str, priority: int, opened_at: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    response, resolution = targets(kind, priority)
    return opened_at + dt.timedelta(minutes=response), opened_at + dt.timedelta(minutes=resolution)
