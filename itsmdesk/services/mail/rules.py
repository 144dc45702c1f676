"""What a new mail becomes: rules kept as the organisation setting ``mail.rules``.

A rule matches by the sender (``from``: an address, or ``@domain`` for a whole domain), by the
address it was sent to (``to``, To or Cc: ``requests@...``) or by words of the subject
(``subject``: comma-separated words or phrases, any of them), and says what the mail becomes:
an incident or a service request, with a category and a team if given.  The first rule that
matches wins; a mail no rule matches waits in the unmatched queue for an agent.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from itsmdesk import config
from itsmdesk.errors import N_, ValidationError
from itsmdesk.models.people import Team
from itsmdesk.models.servicedesk import Category
from itsmdesk.services import records
from itsmdesk.services.context import SYSTEM, Actor
from itsmdesk.services.mail.parsing import ParsedMail
from itsmdesk.services.permissions import require

MATCHES = ("from", "to", "subject")
KINDS = ("incident", "request")
SETTING = config.MAIL_RULES.key


@dataclass(frozen=True)
class MailRule:
    match: str
    value: str
    kind: str = "incident"
    category: str | None = None  # a category's name (of that kind)
    team: str | None = None  # a team's name

    def matches(self, mail: ParsedMail) -> bool:
        value = self.value.strip().lower()
        if not value:
            return False
        if self.match == "from":
            return mail.sender == value or (value.startswith("@") and mail.sender.endswith(value))
        if self.match == "to":  # (Delivered-To/X-Original-To: the desk was Bcc'd)
            delivered = [mail.headers.get(h, "").strip().strip("<>").lower()
                         for h in ("delivered-to", "x-original-to")]
            return any(a == value or (value.startswith("@") and a.endswith(value))
                       for a in mail.to + mail.cc + [d for d in delivered if d])
        subject = f" {' '.join(mail.subject.lower().split())} "
        return any(f" {w.strip()} " in subject or (len(w.strip()) > 3 and w.strip() in subject)
                   for w in value.split(",") if w.strip())


def _rule(data: Any, number: int) -> MailRule:
    if not isinstance(data, dict):
        raise ValidationError(N_("Mail rule {number} is not a rule (match, value, kind...)"),
                              number=number)
    rule = MailRule(match=str(data.get("match") or ""), value=str(data.get("value") or "").strip(),
                    kind=str(data.get("kind") or "incident"),
                    category=(str(data["category"]).strip() or None) if data.get("category") else None,
                    team=(str(data["team"]).strip() or None) if data.get("team") else None)
    if rule.match not in MATCHES:
        raise ValidationError(N_("Mail rule {number}: match by one of {choices}, not {value}"),
                              field="match", number=number, choices=", ".join(MATCHES),
                              value=rule.match)
    if not rule.value:
        raise ValidationError(N_("Mail rule {number} needs a value to match"), field="value",
                              number=number)
    if rule.kind not in KINDS:
        raise ValidationError(N_("Mail rule {number}: a mail becomes an incident or a request, "
                                 "not {value}"), field="kind", number=number, value=rule.kind)
    return rule


def rules() -> list[MailRule]:
    data = records.get_setting(SETTING, None) or []
    out = []
    for number, item in enumerate(data if isinstance(data, list) else [], start=1):
        try:
            out.append(_rule(item, number))
        except ValidationError:
            continue  # (a rule broken by hand in the database is skipped, not fatal)
    return out


def rules_version() -> int | None:
    return records.setting_version(SETTING)


def resolve(rule: MailRule) -> dict[str, Any]:
    """The ticket fields a rule gives (category and team looked up by name)."""
    values: dict[str, Any] = {"kind": rule.kind}
    if rule.category:
        cat = Category.get_or_none((Category.name == rule.category) & (Category.kind == rule.kind))
        if cat is None:
            raise ValidationError(N_("Mail rule: there is no {kind} category {name}"),
                                  field="category", kind=rule.kind, name=rule.category)
        values["category"] = cat.id
        if cat.default_team_id and not rule.team:
            values["team"] = cat.default_team_id
    if rule.team:
        team = Team.get_or_none(Team.name == rule.team)
        if team is None:
            raise ValidationError(N_("Mail rule: there is no team {name}"), field="team",
                                  name=rule.team)
        values["team"] = team.id
    return values


def save_rules(items: list[dict[str, Any]] | list[MailRule], actor: Actor = SYSTEM,
               expected_version: int | None = None) -> list[MailRule]:
    """Replace the rules (checked first: an unknown category or team is refused)."""
    require(actor, "settings.manage")
    parsed = [_rule(asdict(i) if isinstance(i, MailRule) else i, n)
              for n, i in enumerate(items, start=1)]
    with records.atomic():
        for rule in parsed:
            resolve(rule)
        records.set_setting(SETTING, [asdict(r) for r in parsed], actor, expected_version)
    return parsed


def first_match(mail: ParsedMail) -> MailRule | None:
    return next((r for r in rules() if r.matches(mail)), None)
