"""Browsing the knowledge base without a search (articles by category, with a summary), and
article text as plain words for lists: Markdown marks taken out, the search's match markers
(« ») kept for the view to show as emphasis."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from itsmdesk.models.knowledge import Article

MARK_START, MARK_END = "«", "»"  # what the full-text search puts around matched words

_FENCE = re.compile(r"^\s*(```|~~~).*$")
_HEADING = re.compile(r"^\s{0,3}#{1,6}(\s+|$)")
_SETEXT = re.compile(r"^\s*(=+|-+)\s*$")
_QUOTE = re.compile(r"^\s{0,3}(>\s?)+")
_LIST = re.compile(r"^\s*([-*+]|\d{1,3}[.)])\s+(\[[ xX]\]\s+)?")
_RULE = re.compile(r"^\s*([-*_]\s*){3,}$")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_REF_LINK = re.compile(r"\[([^\]]+)\]\[[^\]]*\]")
_AUTOLINK = re.compile(r"<((?:https?|mailto|ftp):[^>\s]+)>")
_TAG = re.compile(r"</?[A-Za-z][^>]*>")
_STRONG = re.compile(r"(\*\*|__|~~)")
_EM_OPEN = re.compile(r"(?<![\w*\\])[*_](?=[^\s*_])")
_EM_CLOSE = re.compile(r"(?<=[^\s*_\\])[*_](?![\w*])")
_CODE = re.compile(r"`+")
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~])")
_SPACE = re.compile(r"\s+")


def plain_text(markdown: str, drop_first_heading: bool = False) -> str:
    """``markdown`` (a whole body or a search snippet cut from one) as plain words on one
    line: no heading marks, emphasis marks, code ticks, link targets, list bullets, quote
    marks, table rules or HTML tags.  Match markers « » stay; a snippet's leading or
    trailing "…" stays.  ``drop_first_heading`` leaves out a heading on the first line (an
    article body that starts with its own title)."""
    text = markdown or ""
    lead = text.startswith("…")
    if lead:
        text = text[1:]
    pieces: list[str] = []
    for n, line in enumerate(text.splitlines()):
        if _FENCE.match(line) or _RULE.match(line) or _TABLE_RULE.match(line):
            continue
        if _SETEXT.match(line) and pieces:
            continue
        heading = _HEADING.match(line)
        if drop_first_heading and n == 0 and heading:
            continue
        line = _HEADING.sub("", line)
        line = _QUOTE.sub("", line)
        if _LIST.match(line):  # a list item: a bullet, so the items do not run together
            line = "• " + _LIST.sub("", line)
        line = line.replace("|", " ").strip()
        if line:
            if line.startswith("• ") and pieces:
                pieces[-1] = pieces[-1].removesuffix(" ·")
            pieces.append(line + (" ·" if heading else ""))
    text = " ".join(pieces).removesuffix(" ·")
    text = _IMAGE.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    text = _REF_LINK.sub(r"\1", text)
    text = _AUTOLINK.sub(r"\1", text)
    text = _TAG.sub("", text)
    text = _STRONG.sub("", text)
    text = _EM_OPEN.sub("", text)
    text = _EM_CLOSE.sub("", text)
    text = _CODE.sub("", text)
    text = _ESCAPE.sub(r"\1", text)
    text = _SPACE.sub(" ", text).strip()
    return ("…" + text) if lead and text else text


def marked_parts(text: str) -> list[tuple[str, bool]]:
    """``text`` cut at the match markers: (part, matched) in order, the markers left out (an
    unpaired marker is dropped)."""
    parts: list[tuple[str, bool]] = []
    rest = text
    while rest:
        start = rest.find(MARK_START)
        end = rest.find(MARK_END, start + 1) if start >= 0 else -1
        if start < 0 or end < 0:
            parts.append((rest.replace(MARK_START, "").replace(MARK_END, ""), False))
            break
        if start:
            parts.append((rest[:start].replace(MARK_END, ""), False))
        parts.append((rest[start + 1:end], True))
        rest = rest[end + 1:]
    return [(p, m) for p, m in parts if p]


@dataclass(frozen=True)
class ArticleRow:
    """An article as the knowledge dock lists it when browsing."""

    id: Any
    ref: str
    title: str
    category: str
    tags: str
    status: str
    summary: str  # the start of the body as plain text


def categories() -> list[tuple[str, int]]:
    """(category, number of articles) for every category in use, by name; articles without a
    category count under ""; retired articles are left out."""
    from peewee import fn

    rows = (Article.select(Article.category, fn.COUNT(Article.id))
            .where(Article.status != "retired").group_by(Article.category).tuples())
    return sorted(((c or "", n) for c, n in rows), key=lambda t: (t[0] == "", t[0].lower()))


def browse(category: str | None = None, limit: int = 500) -> list[ArticleRow]:
    """Articles (not retired) by category and title; ``category`` "" means the ones without a
    category, None all of them.  Each with the start of its body as plain text."""
    from peewee import fn

    query = (Article.select(Article.id, Article.ref, Article.title, Article.category,
                            Article.tags, Article.status,
                            fn.SUBSTR(Article.body, 1, 600).alias("start"))
             .where(Article.status != "retired"))
    if category == "":
        query = query.where(Article.category.is_null() | (Article.category == ""))
    elif category is not None:
        query = query.where(Article.category == category)
    rows = query.order_by(Article.category, Article.title).limit(limit).tuples()
    out = []
    for aid, ref, title, cat, tags, status, start in rows:
        summary = plain_text(start or "", drop_first_heading=True)
        if len(summary) > 220:
            summary = summary[:220].rsplit(" ", 1)[0] + "…"
        out.append(ArticleRow(aid, ref, title, cat or "", tags or "", status, summary))
    out.sort(key=lambda r: (r.category == "", r.category.lower(), r.title.lower()))
    return out
