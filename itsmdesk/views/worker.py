"""The older name of the operations runner (:mod:`itsmdesk.views.ops`): ``DbWorker.submit`` is
``Ops.query``."""

from __future__ import annotations

from itsmdesk.views.ops import Ops as DbWorker

__all__ = ["DbWorker"]
