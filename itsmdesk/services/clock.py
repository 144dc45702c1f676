"""Now, as every timestamp is stored: naive UTC (views and reports ask here, not the models)."""

from __future__ import annotations

from itsmdesk.models.base import utcnow

__all__ = ["utcnow"]
