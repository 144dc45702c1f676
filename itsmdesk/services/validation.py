"""Small input checks shared by the services; each raises a ValidationError a person can read."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from itsmdesk.errors import N_, ValidationError


def required_text(values: Mapping[str, Any], name: str, label: str, max_len: int = 300,
                  creating: bool = True) -> None:
    if name not in values and not creating:
        return
    value = values.get(name)
    if value is None or not str(value).strip():
        raise ValidationError(N_("{label} is required"), field=name, label=label)
    if len(str(value)) > max_len:
        raise ValidationError(N_("{label} is longer than {max} characters"), field=name,
                              label=label, max=max_len)


def one_of(values: Mapping[str, Any], name: str, allowed: Iterable[Any], label: str) -> None:
    if name in values and values[name] is not None:
        allowed = tuple(allowed)
        if values[name] not in allowed:
            raise ValidationError(N_("{label} '{value}' is not one of: {allowed}"), field=name,
                                  label=label, value=values[name],
                                  allowed=", ".join(str(a) for a in allowed))


def ordered_times(values: Mapping[str, Any], start: str, end: str, label: str,
                  current: Mapping[str, Any] | None = None) -> None:
    """``start`` must come before ``end`` (using the record's current values for missing ones)."""
    current = current or {}
    a = values.get(start, current.get(start))
    b = values.get(end, current.get(end))
    for name, value in ((start, a), (end, b)):
        if value is not None and not isinstance(value, dt.datetime):
            raise ValidationError(N_("{label}: '{value}' is not a date and time"), field=name,
                                  label=label, value=value)
    if a is not None and b is not None and b <= a:
        raise ValidationError(N_("{label}: the end ({end}) must come after the start ({start})"),
                              field=end, label=label, start=a, end=b)


def positive_int(values: Mapping[str, Any], name: str, label: str, minimum: int = 0) -> None:
    if name in values and values[name] is not None:
        value = values[name]
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise ValidationError(N_("{label} must be a whole number of at least {min}"),
                                  field=name, label=label, min=minimum)
        if value > 2 ** 31 - 1:  # (an integer column; PostgreSQL refuses more)
            raise ValidationError(N_("{label} must be at most {max}"), field=name, label=label,
                                  max=2 ** 31 - 1)
