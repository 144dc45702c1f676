"""Knowledge base articles and their links to CIs, known errors and incidents."""

from __future__ import annotations

import peewee as pw

from itsmdesk.models.base import BaseModel, TrackedModel
from itsmdesk.models.cmdb import CI
from itsmdesk.models.incident import Incident
from itsmdesk.models.people import Person
from itsmdesk.models.problem import KnownError

ARTICLE_STATUSES = ("draft", "published", "retired")


class Article(TrackedModel):
    RECORD_KIND = "article"
    ref = pw.CharField(max_length=32, unique=True)
    title = pw.CharField(max_length=300)
    body = pw.TextField(default="")  # Markdown
    category = pw.CharField(max_length=200, null=True, index=True)
    tags = pw.CharField(max_length=500, default="")  # comma separated
    status = pw.CharField(max_length=16, default="published")
    author = pw.ForeignKeyField(Person, null=True, on_delete="SET NULL")
    external_key = pw.CharField(max_length=200, null=True, index=True)


class ArticleLink(BaseModel):
    PARENT = "article"
    LABEL_FIELDS = ("ci", "known_error", "incident")
    article = pw.ForeignKeyField(Article, backref="links", on_delete="CASCADE")
    ci = pw.ForeignKeyField(CI, null=True, on_delete="CASCADE")
    known_error = pw.ForeignKeyField(KnownError, null=True, on_delete="CASCADE")
    incident = pw.ForeignKeyField(Incident, null=True, on_delete="CASCADE")
