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
    return _versions(article, records.field_history("article", article.id, _VERSIONED))


def _versions(article: Article, history: list[records.HistoryEntry]) -> list[ArticleVersion]:
    """The versions from the article's field history (no database)."""
    state = {name: "" for name in _VERSIONED}
    out: list[ArticleVersion] = []
    rows = sorted(history, key=lambda e: e.version or 1)
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


def create_from_incident_ref(ref: str, actor: Actor = SYSTEM) -> Article:
    """:func:`create_from_incident` for the incident a reference names (INC-000123)."""
    from itsmdesk.services.servicedesk.incidents import get_by_ref

    return create_from_incident(get_by_ref(ref).id, actor)


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


# --- the article form ----------------------------------------------------------------------------

@dataclass(frozen=True)
class ArticleLinkRow:
    """A record the article links to: its kind, id and how it reads (CI name, reference and
    title)."""

    kind: str  # ci | known_error | incident
    id: Any
    label: str


@dataclass(frozen=True)
class ArticleView:
    """Everything the article form shows."""

    id: Any
    version: int
    ref: str
    title: str
    body: str
    category: str | None
    tags: str
    status: str
    author: str
    updated_at: dt.datetime | None
    links: tuple[ArticleLinkRow, ...]
    versions: tuple[ArticleVersion, ...]


def article_view(article_id: Any) -> ArticleView:
    """The article form's read model: three queries (the article with its author's name; its
    links with the names of what they point at; its field history for the versions)."""
    import peewee as pw

    from itsmdesk.errors import NotFoundError
    from itsmdesk.models.cmdb import CI
    from itsmdesk.models.incident import Incident
    from itsmdesk.models.people import Person
    from itsmdesk.models.problem import KnownError

    a = (Article.select(Article, Person.name.alias("author_name"))
         .join(Person, pw.JOIN.LEFT_OUTER, on=(Article.author == Person.id))
         .where(Article.id == article_id).objects().first())
    if a is None:
        raise NotFoundError(N_("No {kind} with id {id}"), kind="article", id=article_id)
    query = (ArticleLink.select(ArticleLink.ci, CI.name, ArticleLink.known_error, KnownError.ref,
                                KnownError.title, ArticleLink.incident, Incident.ref,
                                Incident.title)
             .join(CI, pw.JOIN.LEFT_OUTER, on=(ArticleLink.ci == CI.id))
             .switch(ArticleLink)
             .join(KnownError, pw.JOIN.LEFT_OUTER, on=(ArticleLink.known_error == KnownError.id))
             .switch(ArticleLink)
             .join(Incident, pw.JOIN.LEFT_OUTER, on=(ArticleLink.incident == Incident.id))
             .where(ArticleLink.article == a.id))
    links = []
    for ci_id, ci_name, ke_id, ke_ref, ke_title, inc_id, inc_ref, inc_title in query.tuples():
        if ci_id:
            links.append(ArticleLinkRow("ci", ci_id, ci_name))
        if ke_id:
            links.append(ArticleLinkRow("known_error", ke_id, f"{ke_ref} {ke_title}"))
        if inc_id:
            links.append(ArticleLinkRow("incident", inc_id, f"{inc_ref} {inc_title}"))
    order = list(_LINK_FIELDS)
    links.sort(key=lambda link: (order.index(link.kind), link.label.lower()))
    history = records.field_history("article", a.id, _VERSIONED)
    return ArticleView(a.id, a.version, a.ref, a.title, a.body or "", a.category, a.tags or "",
                       a.status, a.author_name or "", a.updated_at, tuple(links),
                       tuple(_versions(a, history)))


ARTICLE_FIELDS = ("title", "body", "category", "tags")


def save_article(article_id: Any, version: int | None, edits: dict[str, Any],
                 actor: Actor = SYSTEM, new_id: Any = None) -> Article:
    """Create (``article_id`` None, with key ``new_id``: a draft by the actor) or update an
    article from the form's edits in one transaction; tags are normalised."""
    values = {k: v for k, v in edits.items() if k in ARTICLE_FIELDS}
    if "tags" in values:
        values["tags"] = normalise_tags(values["tags"] or "")
    with records.atomic():
        if article_id is None:
            values.setdefault("status", "draft")
            values.setdefault("author", actor.person_id)
            if new_id is not None:
                values["id"] = new_id
            return create_article(values, actor)
        return update_article(article_id, version, values, actor)


def set_status(article_id: Any, version: int | None, status: str,
               actor: Actor = SYSTEM) -> Article:
    """Publish, retire or return the article to draft (a stale ``version`` conflicts)."""
    return update_article(article_id, version, {"status": status}, actor)


def publish(article_id: Any, version: int | None, actor: Actor = SYSTEM) -> Article:
    return set_status(article_id, version, "published", actor)


def retire(article_id: Any, version: int | None, actor: Actor = SYSTEM) -> Article:
    return set_status(article_id, version, "retired", actor)


def add_link_by_reference(article_id: Any, text: str, actor: Actor = SYSTEM,
                          version: int | None = None) -> str:
    """Link the article to the record with this reference (``INC-…``, ``KE-…``) or the CI with
    this name; returns the kind linked.  A stale ``version`` of the article conflicts."""
    from itsmdesk.services.lookup import find_by_reference

    with records.atomic():
        kind, record = find_by_reference(text)
        add_link(article_id, kind, record.id, actor, version)
        return kind
