"""People and organisation: organisations, sites, people, teams and memberships."""

from __future__ import annotations

import re
from typing import Any

from itsmdesk.errors import N_, ValidationError
from itsmdesk.models.people import Organisation, Person, Site, Team, TeamMember
from itsmdesk.services import records
from itsmdesk.services.context import SYSTEM, Actor
from itsmdesk.services.permissions import require
from itsmdesk.services.validation import required_text

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _check_email(values: dict[str, Any]) -> None:
    email = values.get("email")
    if email and not EMAIL_RE.match(email):
        raise ValidationError(N_("'{value}' is not an e-mail address"), field="email", value=email)


def _unique(model, field: str, value: Any, label: str, exclude=None) -> None:  # noqa: ANN001
    if value is None:
        return
    query = model.select().where(getattr(model, field) == value)
    if exclude is not None:
        query = query.where(model.id != exclude)
    if query.exists():
        raise ValidationError(N_("{label} '{value}' is already taken"), field=field, label=label,
                              value=value)


def create_organisation(values: dict[str, Any], actor: Actor = SYSTEM) -> Organisation:
    require(actor, "org.edit")
    required_text(values, "name", "Name", 200)
    with records.atomic():
        _unique(Organisation, "name", values.get("name"), "Organisation")
        return records.create(Organisation, values, actor)


def create_site(values: dict[str, Any], actor: Actor = SYSTEM) -> Site:
    require(actor, "org.edit")
    required_text(values, "name", "Name", 200)
    required_text(values, "code", "Code", 16)
    with records.atomic():
        _unique(Site, "name", values.get("name"), "Site")
        _unique(Site, "code", values.get("code"), "Site code")
        return records.create(Site, values, actor)


def site_by_code(code: str) -> Site:
    """The site with this code (case does not matter); an unknown code is said."""
    from itsmdesk.errors import N_, NotFoundError

    site = Site.get_or_none(Site.code == code.strip().upper())
    if site is None:
        raise NotFoundError(N_("No site with code {code}"), code=code)
    return site


def create_person(values: dict[str, Any], actor: Actor = SYSTEM) -> Person:
    require(actor, "people.manage")
    required_text(values, "name", "Name", 200)
    _check_email(values)
    with records.atomic():
        _unique(Person, "email", values.get("email"), "E-mail")
        return records.create(Person, values, actor)


def update_person(person_id, version: int, changes: dict[str, Any], actor: Actor = SYSTEM) -> Person:
    require(actor, "people.manage")
    required_text(changes, "name", "Name", 200, creating=False)
    _check_email(changes)
    with records.atomic():
        if "email" in changes:
            _unique(Person, "email", changes["email"], "E-mail", exclude=person_id)
        return records.update(Person, person_id, version, changes, actor)


def create_team(values: dict[str, Any], members: list | None = None,
                actor: Actor = SYSTEM) -> Team:
    require(actor, "org.edit")
    required_text(values, "name", "Name", 200)
    with records.atomic():
        _unique(Team, "name", values.get("name"), "Team")
        team = records.create(Team, values, actor)
        for person in members or []:
            add_member(team, person, actor)
        return team


def update_team(team_id, version: int, changes: dict[str, Any], actor: Actor = SYSTEM) -> Team:
    require(actor, "org.edit")
    with records.atomic():
        if "name" in changes:
            _unique(Team, "name", changes["name"], "Team", exclude=team_id)
        return records.update(Team, team_id, version, changes, actor)


def add_member(team, person, actor: Actor = SYSTEM) -> None:  # noqa: ANN001
    require(actor, "org.edit")
    with records.atomic():
        team_id = getattr(team, "id", team)
        person_id = getattr(person, "id", person)
        if not TeamMember.select().where((TeamMember.team == team_id)
                                         & (TeamMember.person == person_id)).exists():
            records.add_child(TeamMember, {"team": team_id, "person": person_id}, actor)


def team_members(team_id) -> list[Person]:  # noqa: ANN001
    return list(Person.select().join(TeamMember).where(TeamMember.team == team_id)
                .order_by(Person.name))


def teams_of(person_id) -> list[Team]:  # noqa: ANN001
    return list(Team.select().join(TeamMember).where(TeamMember.person == person_id)
                .order_by(Team.name))


def find_people(text: str = "", limit: int = 50, agents_only: bool = False) -> list[Person]:
    query = Person.select().where(Person.active == True)  # noqa: E712
    if text:
        query = query.where(Person.name.contains(text) | Person.email.contains(text))
    if agents_only:
        query = query.where(Person.is_agent == True)  # noqa: E712
    return list(query.order_by(Person.name).limit(limit))


def list_teams() -> list[Team]:
    return list(Team.select().order_by(Team.name))


def list_sites() -> list[Site]:
    return list(Site.select().order_by(Site.name))


def person_names(ids) -> dict:  # noqa: ANN001
    """id -> name of the given people (one query; unknown and None ids left out)."""
    wanted = [i for i in ids if i]
    if not wanted:
        return {}
    return dict(Person.select(Person.id, Person.name).where(Person.id.in_(wanted)).tuples())


def team_names(ids) -> dict:  # noqa: ANN001
    """id -> name of the given teams (one query)."""
    wanted = [i for i in ids if i]
    if not wanted:
        return {}
    return dict(Team.select(Team.id, Team.name).where(Team.id.in_(wanted)).tuples())
