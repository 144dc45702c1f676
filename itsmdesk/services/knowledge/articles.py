"""Knowledge base articles."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from itsmdesk.errors import N_, ValidationError
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
        records.add_children(ArticleLink, [{"article": article.id, **link} for link in links or []],
                             actor)
        return article


def update_article(article_id, version: int | None, changes: dict[str, Any],
                   actor: Actor = SYSTEM) -> Article:
    required_text(changes, "title", "Title", creating=False)
    one_of(changes, "status", ARTICLE_STATUSES, "Status")
    with records.atomic():
        return records.update(Article, article_id, version, changes, actor)


# --- search, versions, links, articles from incidents -------------------------------------------



@dataclass(frozen=True)
class ArticleHit:
    id: Any
    ref: str
    title: str
    category: str | None
    tags: str
    status: str
    snippet: str
    rank: float


def search(text: str, limit: int = 20, include_retired: bool = False) -> list[ArticleHit]:
    """Articles matching the words of ``text``, best first (title and tags weigh most)."""
    from itsmdesk.services.textsearch import fts_ids

    where, params = ("", ()) if include_retired else ("t.status <> ?", ("retired",))
    ranked = fts_ids("article", text, limit, where, params)
    if not ranked:
        return []
    rows = {a.id: a for a in Article.select(Article.id, Article.ref, Article.title, Article.category,
                                            Article.tags, Article.status)
            .where(Article.id.in_([r[0] for r in ranked]))}
    hits = []
    for article_id, rank, snippet in ranked:
        a = rows.get(article_id)
        if a is not None:
            hits.append(ArticleHit(a.id, a.ref, a.title, a.category, a.tags or "", a.status,
                                   snippet, rank))
    return hits


def suggest_for_incident(title: str, description: str = "", limit: int = 5) -> dict[str, list]:
    """Articles and known errors to offer while an incident is being typed."""
    from itsmdesk.services.problem import kedb

    text = f"{title or ''} {description or ''}".strip()
    return {"articles": search(text, limit), "known_errors": kedb.suggest(text, limit)}


def get_article(article_id) -> Article:  # noqa: ANN001
    return records.get(Article, article_id)


def tags_of(article: Article) -> list[str]:
    return [t.strip() for t in (article.tags or "").split(",") if t.strip()]


def normalise_tags(tags: list[str] | str) -> str:
    if isinstance(tags, str):
        tags = tags.split(",")
    seen: list[str] = []
    for tag in tags:
        tag = tag.strip().lower()
        if tag and tag not in seen:
            seen.append(tag)
    return ", ".join(seen)


def links_of(article_id) -> list[dict[str, Any]]:  # noqa: ANN001
    """The article's links as ``{"kind", "id", "label"}`` (CI name or record reference)."""
    out = []
    for link in ArticleLink.select().where(ArticleLink.article == article_id):
        if link.ci_id:
            out.append({"kind": "ci", "id": link.ci_id, "label": link.ci.name})
        if link.known_error_id:
            out.append({"kind": "known_error", "id": link.known_error_id,
                        "label": f"{link.known_error.ref} {link.known_error.title}"})
        if link.incident_id:
            out.append({"kind": "incident", "id": link.incident_id,
                        "label": f"{link.incident.ref} {link.incident.title}"})
    return out


_LINK_FIELDS = {"ci": "ci", "known_error": "known_error", "incident": "incident"}


def add_link(article_id, kind: str, target_id, actor: Actor = SYSTEM,  # noqa: ANN001
             version: int | None = None) -> None:
    if kind not in _LINK_FIELDS:
        raise ValidationError(N_("Articles link to CIs, known errors and incidents, not {kind}"),
                              field="links", kind=kind)
    with records.atomic():
        article = records.get(Article, article_id)
        field = getattr(ArticleLink, _LINK_FIELDS[kind])
        if ArticleLink.select().where((ArticleLink.article == article.id)
                                      & (field == target_id)).exists():
            return
        records.add_child(ArticleLink, {"article": article.id, _LINK_FIELDS[kind]: target_id},
                          actor, version)


def remove_link(article_id, kind: str, target_id, actor: Actor = SYSTEM,  # noqa: ANN001
                version: int | None = None) -> None:
    with records.atomic():
        article = records.get(Article, article_id)
        field = getattr(ArticleLink, _LINK_FIELDS[kind])
        rows = ArticleLink.select().where((ArticleLink.article == article.id) & (field == target_id))
        records.remove_children(ArticleLink, rows, actor, version)


@dataclass(frozen=True)
class ArticleVersion:
    version: int
    at: dt.datetime
    who: str | None
    title: str
    body: str
    tags: str
    status: str
    changed: tuple[str, ...]


_VERSIONED = ("title", "body", "tags", "status", "category")


def versions(article_id) -> list[ArticleVersion]:  # noqa: ANN001
    """Every saved version of the article, rebuilt from the journal, newest first."""
    article = records.get(Article, article_id)
    state = {name: "" for name in _VERSIONED}
    out: list[ArticleVersion] = []
    rows = sorted(records.field_history("article", article.id, _VERSIONED),
                  key=lambda e: e.version or 1)
    current_version, changed, at, who = None, [], None, None

    def flush() -> None:
        if current_version is not None:
            out.append(ArticleVersion(current_version, at, who, state["title"], state["body"],
                                      state["tags"], state["status"], tuple(changed)))

    for row in rows:
        version = row.version or 1
        if version != current_version:
            flush()
            current_version, changed, at, who = version, [], row.at, row.who
        state[row.field] = row.new or ""
        changed.append(row.field)
    flush()
    if not out:  # created outside the journal (bulk demo data): the current text is version 1
        out.append(ArticleVersion(article.version, article.updated_at, None, article.title,
                                  article.body or "", article.tags or "", article.status,
                                  ("title", "body")))
    out.reverse()
    return out


def create_from_incident(incident_id, actor: Actor = SYSTEM,  # noqa: ANN001
                         category: str | None = None) -> Article:
    """A draft article from a resolved incident: its symptoms, resolution, CI and the incident."""
    from itsmdesk.models.incident import Incident

    incident = records.get(Incident, incident_id)
    if incident.status not in ("resolved", "closed", "fulfilled"):
        raise ValidationError(N_("{ref} is not resolved yet; an article needs the resolution"),
                              field="status", ref=incident.ref)
    lines = [f"# {incident.title}", "", "## Symptoms", "",
             (incident.description or incident.title).strip(), "", "## Resolution", "",
             (incident.solution or "").strip() or "_Describe the resolution._", ""]
    if incident.ci_id:
        lines += ["## Applies to", "", f"- {incident.ci.name}", ""]
    lines += [f"_Written from {incident.ref}._"]
    values = {"title": incident.title, "body": "\n".join(lines), "status": "draft",
              "category": category or (incident.category.name if incident.category_id else None),
              "author": actor.person_id, "tags": ""}
    links: list[dict[str, Any]] = [{"incident": incident.id}]
    if incident.ci_id:
        links.append({"ci": incident.ci_id})
    if incident.known_error_id:
        links.append({"known_error": incident.known_error_id})
    return create_article(values, actor, links=links)


def preview(article_id) -> dict[str, Any]:  # noqa: ANN001
    """What the search dock shows for the selected article."""
    a = records.get(Article, article_id)
    author = a.author.name if a.author_id else ""
    return {"id": a.id, "ref": a.ref, "title": a.title, "body": a.body or "",
            "category": a.category or "", "tags": a.tags or "", "status": a.status,
            "author": author, "updated_at": a.updated_at, "version": a.version}
