"""Knowledge base articles."""

from __future__ import annotations

from typing import Any

from itsmdesk.models.knowledge import ARTICLE_STATUSES, Article, ArticleLink
from itsmdesk.services import records
from itsmdesk.services.context import SYSTEM, Actor
from itsmdesk.services.validation import one_of, required_text


def create_article(values: dict[str, Any], actor: Actor = SYSTEM,
                   links: list[dict[str, Any]] | None = None) -> Article:
    required_text(values, "title", "Title")
    one_of(values, "status", ARTICLE_STATUSES, "Status")
    with records.atomic():
        article = records.create(Article, values, actor, ref_prefix="KB")
        for link in links or []:
            ArticleLink.create(article=article.id, **link)
        return article


def update_article(article_id, version: int | None, changes: dict[str, Any],
                   actor: Actor = SYSTEM) -> Article:
    required_text(changes, "title", "Title", creating=False)
    one_of(changes, "status", ARTICLE_STATUSES, "Status")
    with records.atomic():
        return records.update(Article, article_id, version, changes, actor)
