"""All peewee models, in the order their tables are created."""

from __future__ import annotations

from itsmdesk.models.base import RefCounter, SchemaInfo, Setting, TrackedModel, db
from itsmdesk.models.change import (
    Approval,
    CABAction,
    CABAgendaItem,
    CABAttendee,
    CABMeeting,
    CABMember,
    Change,
    ChangeCI,
    ChangeTemplate,
    ScheduleWindow,
)
from itsmdesk.models.cmdb import CI, Baseline, BaselineItem, CIClass, Relation
from itsmdesk.models.incident import (
    Attachment,
    ChangeIncident,
    Incident,
    Interaction,
    WorkLog,
)
from itsmdesk.models.journal import JournalEntry
from itsmdesk.models.knowledge import Article, ArticleLink
from itsmdesk.models.mail import MailMessage
from itsmdesk.models.mail_outbox import MailOutbox, ServiceSubscription
from itsmdesk.models.people import Organisation, Person, PersonRole, Site, Team, TeamMember
from itsmdesk.models.problem import KnownError, KnownErrorCI, Problem, ProblemCI
from itsmdesk.models.release import Release, ReleaseChange, ReleaseItem, ReleaseStep, StepDependency
from itsmdesk.models.servicedesk import (
    Announcement,
    AnnouncementService,
    BusinessCalendar,
    Category,
    Holiday,
    Notification,
    SavedQueue,
    SLADefinition,
)

ALL_MODELS = [
    SchemaInfo, RefCounter, Setting, JournalEntry,
    Organisation, Site, Person, PersonRole, Team, TeamMember,
    CIClass, CI, Relation, Baseline, BaselineItem,
    Category, BusinessCalendar, Holiday, SLADefinition, SavedQueue, Announcement,
    AnnouncementService, Notification,
    Problem, ProblemCI, KnownError, KnownErrorCI,
    ChangeTemplate, Change, ChangeCI, CABMember, CABMeeting, CABAttendee, CABAgendaItem, Approval,
    CABAction, ScheduleWindow,
    Incident, WorkLog, Attachment, ChangeIncident, Interaction,
    Release, ReleaseChange, ReleaseStep, StepDependency, ReleaseItem,
    Article, ArticleLink,
    MailOutbox, ServiceSubscription,
    MailMessage,
]

__all__ = [m.__name__ for m in ALL_MODELS] + ["ALL_MODELS", "TrackedModel", "db"]
