"""Record kinds: the names the journal, the change feed and the forms share.

Every layer may import this module (it has no Qt and no database).  A kind is a ``StrEnum``, so
it equals the string stored in the journal (``Kind.INCIDENT == "incident"``) while code that
names a kind is checked by the interpreter instead of a misspelt string.
"""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    # records people edit (TrackedModel.RECORD_KIND)
    INCIDENT = "incident"
    PROBLEM = "problem"
    KNOWN_ERROR = "known_error"
    CHANGE = "change"
    CHANGE_TEMPLATE = "change_template"
    CAB_MEETING = "cab_meeting"
    WINDOW = "window"
    RELEASE = "release"
    RELEASE_STEP = "release_step"
    ARTICLE = "article"
    CI = "ci"
    CI_CLASS = "ci_class"
    RELATION = "relation"
    BASELINE = "baseline"
    ORGANISATION = "organisation"
    SITE = "site"
    PERSON = "person"
    TEAM = "team"
    CATEGORY = "category"
    CALENDAR = "calendar"
    SLA = "sla"
    QUEUE = "queue"
    ANNOUNCEMENT = "announcement"
    MAIL = "mail"
    # rows with no parent record, journalled as records of their own
    CAB_MEMBER = "cab_member"
    NOTIFICATION = "notification"
    # organisation-wide settings (priority matrix, escalation share, ...)
    SETTING = "setting"


# Kinds a person opens in a form (the service request shares the incident's table and kind).
FORM_KINDS = (Kind.INCIDENT, Kind.PROBLEM, Kind.KNOWN_ERROR, Kind.CHANGE, Kind.CAB_MEETING,
              Kind.RELEASE, Kind.CI, Kind.ARTICLE)
