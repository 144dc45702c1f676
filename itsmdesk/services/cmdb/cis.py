"""Configuration Management: CI classes, CIs and typed relations (create/update/list/get)."""

from __future__ import annotations

from typing import Any

from itsmdesk.errors import N_, NotFoundError, ValidationError
from itsmdesk.models.cmdb import (
    CI,
    CI_STATUSES,
    CRITICALITIES,
    PROPAGATION,
    RELATION_TYPES,
    CIClass,
    Relation,
)
from itsmdesk.services import records
from itsmdesk.services.context import SYSTEM, Actor
from itsmdesk.services.permissions import require
from itsmdesk.services.validation import one_of, positive_int, required_text

# The classes every database starts with: name -> (label, is_service, attributes)
STANDARD_CLASSES: dict[str, tuple[str, bool, list[dict[str, Any]]]] = {
    "business_service": ("Business service", True, [
        {"name": "service_owner", "label": "Service owner", "type": "text"},
        {"name": "service_hours", "label": "Service hours", "type": "text"}]),
    "application": ("Application", False, [
        {"name": "url", "label": "URL", "type": "text"},
        {"name": "language", "label": "Language", "type": "text"}]),
    "database": ("Database", False, [
        {"name": "engine", "label": "Engine", "type": "text"},
        {"name": "size_gb", "label": "Size (GB)", "type": "float"}]),
    "server": ("Server (hardware)", False, [
        {"name": "cpu_cores", "label": "CPU cores", "type": "int"},
        {"name": "ram_gb", "label": "RAM (GB)", "type": "int"},
        {"name": "os", "label": "Operating system", "type": "text"}]),
    "virtual_machine": ("Virtual machine", False, [
        {"name": "vcpus", "label": "vCPUs", "type": "int"},
        {"name": "ram_gb", "label": "RAM (GB)", "type": "int"},
        {"name": "os", "label": "Operating system", "type": "text"}]),
    "network_device": ("Network device", False, [
        {"name": "ip_address", "label": "IP address", "type": "text"},
        {"name": "ports", "label": "Ports", "type": "int"}]),
    "software": ("Software", False, [
        {"name": "licence", "label": "Licence", "type": "text"},
        {"name": "checksum", "label": "Checksum", "type": "text"}]),
    "hardware": ("Hardware", False, [
        {"name": "model", "label": "Model", "type": "text"}]),
    "storage": ("Storage", False, [{"name": "capacity_tb", "label": "Capacity (TB)", "type": "float"}]),
    "cluster": ("Cluster", False, []),
    "workstation": ("Workstation", False, [{"name": "os", "label": "Operating system", "type": "text"}]),
}

ATTRIBUTE_TYPES = ("text", "int", "float", "bool", "date")


def ensure_standard_classes(actor: Actor = SYSTEM) -> None:
    with records.atomic():
        existing = {c.name for c in CIClass.select(CIClass.name)}
        for name, (label, is_service, attributes) in STANDARD_CLASSES.items():
            if name not in existing:
                records.create(CIClass, {"name": name, "label": label, "is_service": is_service,
                                         "attributes": attributes}, actor)


def get_class(name: str) -> CIClass:
    cls = CIClass.get_or_none(CIClass.name == name)
    if cls is None:
        raise ValidationError(N_("Unknown CI class '{value}'"), field="ci_class", value=name)
    return cls


def coerce_value(spec: dict[str, Any], value: Any) -> Any:
    """One class attribute's value, typed (raises ValidationError naming the attribute)."""
    import datetime as dt

    name = spec["name"]
    kind = spec.get("type", "text")
    try:
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
        if kind == "bool":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "y", "on"):
                return True
            if text in ("0", "false", "no", "n", "off"):
                return False
            raise ValueError(text)
        if kind == "date":
            return dt.date.fromisoformat(str(value)).isoformat()
        choices = spec.get("choices")
        if choices and str(value) not in choices:
            raise ValidationError(N_("Attribute {attr}: '{value}' is not one of: {allowed}"),
                                  field=name, attr=name, value=value, allowed=", ".join(choices))
        return str(value)
    except ValueError:
        raise ValidationError(N_("Attribute {attr}: '{value}' is not a valid {type}"),
                              field=name, attr=name, value=value, type=kind) from None


def coerce_attributes(ci_class: CIClass, attributes: dict[str, Any]) -> dict[str, Any]:
    """Check and convert class-specific attributes (strings from forms/CSV become typed)."""
    spec = {a["name"]: a for a in ci_class.attributes or []}
    out: dict[str, Any] = {}
    for name, value in (attributes or {}).items():
        if name not in spec:
            raise ValidationError(N_("Class {cls} has no attribute '{attr}'"), field=name,
                                  cls=ci_class.name, attr=name)
        if value in (None, ""):
            continue
        out[name] = coerce_value(spec[name], value)
    for name, a in spec.items():
        if a.get("required") and name not in out:
            raise ValidationError(N_("Attribute {attr} is required for class {cls}"), field=name,
                                  attr=name, cls=ci_class.name)
    return out


def _validate_ci(values: dict[str, Any], creating: bool) -> None:
    required_text(values, "name", "Name", 255, creating)
    one_of(values, "status", CI_STATUSES, "Status")
    one_of(values, "criticality", CRITICALITIES, "Criticality")
    positive_int(values, "min_members_up", "Members that must stay up", 1)


def create_ci(values: dict[str, Any], actor: Actor = SYSTEM) -> CI:
    require(actor, "ci.edit")
    values = dict(values)
    _validate_ci(values, True)
    with records.atomic():
        cls = values.get("ci_class")
        if isinstance(cls, str):
            cls = get_class(cls)
        if cls is None:
            raise ValidationError(N_("A CI needs a class"), field="ci_class")
        values["ci_class"] = cls
        values["attributes"] = coerce_attributes(cls, values.get("attributes") or {})
        if CI.select().where(CI.name == values["name"]).exists():
            raise ValidationError(N_("A CI named '{value}' already exists"), field="name",
                                  value=values["name"])
        return records.create(CI, values, actor)


def update_ci(ci_id, version: int | None, changes: dict[str, Any], actor: Actor = SYSTEM) -> CI:
    require(actor, "ci.edit")
    changes = dict(changes)
    _validate_ci(changes, False)
    with records.atomic():
        ci = records.get(CI, ci_id)
        if isinstance(changes.get("ci_class"), str):
            changes["ci_class"] = get_class(changes["ci_class"])
        cls = changes.get("ci_class") or ci.ci_class
        if "attributes" in changes:
            changes["attributes"] = coerce_attributes(cls, changes["attributes"] or {})
        if "name" in changes and CI.select().where((CI.name == changes["name"])
                                                   & (CI.id != ci.id)).exists():
            raise ValidationError(N_("A CI named '{value}' already exists"), field="name",
                                  value=changes["name"])
        return records.update(CI, ci.id, version, changes, actor)


CI_FIELDS = ("name", "ci_class", "status", "criticality", "ci_version", "vendor", "serial",
             "min_members_up", "description", "attributes")


def save_ci(ci_id: Any, version: int | None, edits: dict[str, Any], actor: Actor = SYSTEM,
            new_id: Any = None) -> CI:
    """Create (``ci_id`` None, with key ``new_id``) or update a CI from the form's edits in one
    transaction: its fields (``ci_class`` by name, ``attributes`` as text, typed here against
    the class), ``owner_team`` and ``site`` (ids, or None)."""
    require(actor, "ci.edit")
    import uuid

    values = {k: v for k, v in edits.items() if k in CI_FIELDS}
    for name in ("owner_team", "site"):
        if name in edits:
            value = edits[name]
            values[name] = value if value is None or isinstance(value, uuid.UUID) \
                else uuid.UUID(str(value))
    with records.atomic():
        if ci_id is None:
            if new_id is not None:
                values["id"] = new_id
            return create_ci(values, actor)
        return update_ci(ci_id, version, values, actor)


def create_relation_from(ci_id: Any, type_: str, target_name: str, actor: Actor = SYSTEM,
                         redundant: bool = False) -> Relation:
    """A relation from the CI ``ci_id`` to the CI named ``target_name`` (the CI form's "This CI
    depends on ...")."""
    require(actor, "ci.edit")
    with records.atomic():
        return create_relation(records.get(CI, ci_id), type_,
                               get_ci_by_name((target_name or "").strip()), actor,
                               redundant=redundant)


def get_ci_by_name(name: str) -> CI:
    ci = CI.get_or_none(CI.name == name)
    if ci is None:
        raise NotFoundError(N_("No CI named '{name}'"), name=name)
    return ci


def create_relation(source, type_: str, target, actor: Actor = SYSTEM,  # noqa: ANN001
                    redundant: bool = False, propagates: str = "target_to_source") -> Relation:
    require(actor, "ci.edit")
    if type_ not in RELATION_TYPES:
        raise ValidationError(N_("Relation type '{value}' is not one of: {allowed}"), field="type",
                              value=type_, allowed=", ".join(RELATION_TYPES))
    if propagates not in PROPAGATION:
        raise ValidationError(N_("Propagation '{value}' is not one of: {allowed}"),
                              field="propagates", value=propagates, allowed=", ".join(PROPAGATION))
    with records.atomic():
        src = get_ci_by_name(source) if isinstance(source, str) else source
        tgt = get_ci_by_name(target) if isinstance(target, str) else target
        if src.id == tgt.id:
            raise ValidationError(N_("A CI cannot relate to itself ({name})"), name=src.name)
        existing = Relation.get_or_none((Relation.source == src.id) & (Relation.type == type_)
                                        & (Relation.target == tgt.id))
        if existing:
            raise ValidationError(N_("{src} already {type} {tgt}"), src=src.name,
                                  type=type_.replace("_", " "), tgt=tgt.name)
        rel = records.create(Relation, {"source": src, "target": tgt, "type": type_,
                                        "redundant": redundant, "propagates": propagates}, actor)
        records.note(CI, src.id, "relation+", f"{type_} {tgt.name}", actor)
        return rel


def delete_relation(relation_id, actor: Actor = SYSTEM,  # noqa: ANN001
                    version: int | None = None) -> None:
    """Delete a relation (a stale ``version`` of it conflicts)."""
    require(actor, "ci.edit")
    with records.atomic():
        rel = records.get(Relation, relation_id)
        records.note(CI, rel.source_id, "relation-", f"{rel.type} {rel.target.name}", actor)
        records.delete(Relation, rel.id, version, actor)


def delete_relations(versions: dict, actor: Actor = SYSTEM) -> int:
    """Delete several relations in one transaction; ``versions``: relation id -> the version
    the caller saw (None: unchecked)."""
    require(actor, "ci.edit")
    with records.atomic():
        for relation_id, version in versions.items():
            delete_relation(relation_id, actor, version)
        return len(versions)


def relations_of(ci_id) -> tuple[list[Relation], list[Relation]]:  # noqa: ANN001
    """(outgoing, incoming) relations of a CI with their CIs loaded in the same query."""
    from itsmdesk.models.cmdb import CI as C

    tgt = C.alias()
    outgoing = list(Relation.select(Relation, tgt).join(tgt, on=(Relation.target == tgt.id))
                    .where(Relation.source == ci_id).order_by(Relation.type, tgt.name))
    src = C.alias()
    incoming = list(Relation.select(Relation, src).join(src, on=(Relation.source == src.id))
                    .where(Relation.target == ci_id).order_by(Relation.type, src.name))
    return outgoing, incoming


def list_classes() -> list[CIClass]:
    return list(CIClass.select().order_by(CIClass.label))
