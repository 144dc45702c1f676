"""Who follows a business service: subscribers get its outage announcements by mail.

A subscription is a child row of the service (journalled on the CI, like its relations), so it
is kept by whoever edits the CMDB (``ci.edit``), from the CLI (``itsmdesk mail subscribe``) or
the service's form.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from itsmdesk.errors import N_, ValidationError
from itsmdesk.models.cmdb import CI, CIClass
from itsmdesk.models.mail_outbox import ServiceSubscription
from itsmdesk.models.people import Person
from itsmdesk.services import records
from itsmdesk.services.context import SYSTEM, Actor
from itsmdesk.services.permissions import require


@dataclass(frozen=True)
class Subscriber:
    person_id: uuid.UUID
    name: str
    email: str | None


def _id(value: Any) -> Any:
    return getattr(value, "id", value)


def _service(service_id: Any) -> CI:
    service = records.get(CI, _id(service_id))
    is_service = (CIClass.select(CIClass.is_service).where(CIClass.id == service.ci_class_id)
                  .scalar())
    if not is_service:
        raise ValidationError(N_("{name} is not a business service; people subscribe to "
                                 "business services"), field="service", name=service.name)
    return service


def subscribe(service_id: Any, person_id: Any, actor: Actor = SYSTEM,
              version: int | None = None) -> bool:
    """``person_id`` follows the service; False when they already did."""
    require(actor, "ci.edit")
    with records.atomic():
        service = _service(service_id)
        person = records.get(Person, _id(person_id))
        if ServiceSubscription.select().where((ServiceSubscription.service == service.id)
                                              & (ServiceSubscription.person == person.id)
                                              ).exists():
            return False
        if not person.email:
            raise ValidationError(N_("{name} has no e-mail address; add one before "
                                     "subscribing them to {service}"), field="person",
                                  name=person.name, service=service.name)
        records.add_child(ServiceSubscription, {"service": service.id, "person": person.id},
                          actor, version)
        return True


def unsubscribe(service_id: Any, person_id: Any, actor: Actor = SYSTEM,
                version: int | None = None) -> bool:
    """``person_id`` no longer follows the service; False when they did not."""
    require(actor, "ci.edit")
    with records.atomic():
        row = ServiceSubscription.get_or_none((ServiceSubscription.service == _id(service_id))
                                              & (ServiceSubscription.person == _id(person_id)))
        if row is None:
            return False
        return records.remove_child(ServiceSubscription, row.id, actor, version)


def set_subscribers(service_id: Any, person_ids: Iterable[Any], version: int | None,
                    actor: Actor = SYSTEM) -> None:
    """The service's form saves its list: exactly these people follow it."""
    require(actor, "ci.edit")
    with records.atomic():
        service = _service(service_id)
        wanted = {str(_id(p)) for p in person_ids}
        for person in Person.select().where(Person.id.in_([uuid.UUID(p) for p in wanted])):
            if not person.email:
                raise ValidationError(N_("{name} has no e-mail address; add one before "
                                         "subscribing them to {service}"), field="person",
                                      name=person.name, service=service.name)
        records.set_links(ServiceSubscription, service.id, "person",
                          [uuid.UUID(p) for p in sorted(wanted)], actor, version)


def subscribers(service_ids: Iterable[Any]) -> list[Person]:
    """The active people with an address who follow any of the services, each once."""
    ids = [_id(s) for s in service_ids]
    if not ids:
        return []
    return list(Person.select().join(ServiceSubscription,
                                     on=(ServiceSubscription.person == Person.id))
                .where(ServiceSubscription.service.in_(ids) & (Person.active == True)  # noqa: E712
                       & Person.email.is_null(False))
                .group_by(Person.id).order_by(Person.name))


def subscribers_of(service_id: Any) -> list[Subscriber]:
    """For the CLI and the service's form: who follows this service, by name."""
    return [Subscriber(p.id, p.name, p.email) for p in
            Person.select(Person.id, Person.name, Person.email)
            .join(ServiceSubscription, on=(ServiceSubscription.person == Person.id))
            .where(ServiceSubscription.service == _id(service_id)).order_by(Person.name)]


def find_service(text: str) -> CI:
    """A business service by name (for the CLI)."""
    from itsmdesk.errors import NotFoundError

    row = (CI.select().join(CIClass).where((CI.name == text.strip())
                                           & (CIClass.is_service == True))  # noqa: E712
           .first())
    if row is None:
        raise NotFoundError(N_("No business service named {name}"), name=text)
    return row


def find_person(text: str) -> Person:
    """A person by login, e-mail address or exact name (for the CLI)."""
    from itsmdesk.errors import NotFoundError

    text = text.strip()
    row = Person.select().where((Person.login == text) | (Person.email == text)
                                | (Person.name == text)).first()
    if row is None:
        raise NotFoundError(N_("No person with the login, e-mail address or name {text}"),
                            text=text)
    return row


@dataclass(frozen=True)
class SubscribersView:
    """The service form's Subscribers tab: whether the CI is a business service at all, and who
    follows it."""

    is_service: bool
    subscribers: tuple[Subscriber, ...]


def subscribers_view(service_id: Any) -> SubscribersView:
    ci = CI.get_or_none(CI.id == _id(service_id))
    if ci is None:
        return SubscribersView(False, ())
    is_service = bool(CIClass.select(CIClass.is_service).where(CIClass.id == ci.ci_class_id)
                      .scalar())
    return SubscribersView(is_service, tuple(subscribers_of(ci.id)) if is_service else ())


def people_matching(text: str, limit: int = 20) -> list[tuple[uuid.UUID, str]]:
    """Active people with an e-mail address whose name or address contains ``text``:
    (id, "Name <address>") for the picker."""
    pattern = f"%{text.strip()}%"
    rows = (Person.select(Person.id, Person.name, Person.email)
            .where((Person.active == True) & Person.email.is_null(False)  # noqa: E712
                   & (Person.name ** pattern | Person.email ** pattern))
            .order_by(Person.name).limit(limit))
    return [(p.id, f"{p.name} <{p.email}>") for p in rows]


def unsubscribe_many(service_id: Any, person_ids: Iterable[Any], actor: Actor = SYSTEM) -> int:
    """The form's "Remove selected": one write; returns how many stopped following."""
    with records.atomic():
        return sum(unsubscribe(service_id, p, actor) for p in person_ids)
