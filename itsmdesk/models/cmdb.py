"""Configuration Management: CI classes, configuration items, typed relations, baselines."""

from __future__ import annotations

import peewee as pw

from itsmdesk.models.base import BaseModel, JSONField, NamedIndex, TrackedModel, utcnow
from itsmdesk.models.people import Site, Team

CI_STATUSES = ("planned", "in_production", "in_maintenance", "retired")
CRITICALITIES = ("low", "medium", "high", "critical")

# Relation types.  For every type the failure of the *target* impacts the *source*:
# "app depends on db" -> a db outage impacts the app.  ``propagates`` on a relation row keeps the
# direction explicit so imported data may say otherwise ("target_to_source" is the default).
RELATION_TYPES = ("depends_on", "runs_on", "hosted_on", "connected_to", "part_of", "uses")
PROPAGATION = ("target_to_source", "source_to_target", "both", "none")


class CIClass(TrackedModel):
    """A CI class with its class-specific attributes.

    ``attributes`` is a list of ``{"name", "label", "type", "required", "choices"}``; ``type`` is
    one of text, int, float, bool, date.  ``is_service`` marks business services.
    """

    RECORD_KIND = "ci_class"
    name = pw.CharField(max_length=64, unique=True)
    label = pw.CharField(max_length=128)
    attributes = JSONField(default=list)
    is_service = pw.BooleanField(default=False)
    icon = pw.CharField(max_length=64, null=True)


class CI(TrackedModel):
    RECORD_KIND = "ci"
    name = pw.CharField(max_length=255, unique=True)
    ci_class = pw.ForeignKeyField(CIClass, backref="cis", on_delete="RESTRICT", index=True)
    status = pw.CharField(max_length=32, default="in_production", index=True)
    criticality = pw.CharField(max_length=16, default="medium")
    owner_team = pw.ForeignKeyField(Team, null=True, backref="cis", on_delete="SET NULL")
    site = pw.ForeignKeyField(Site, null=True, backref="cis", on_delete="SET NULL")
    # "version" is taken by optimistic locking; this is the CI's own software/firmware version.
    ci_version = pw.CharField(max_length=64, null=True)
    serial = pw.CharField(max_length=128, null=True)
    vendor = pw.CharField(max_length=128, null=True)
    description = pw.TextField(null=True)
    attributes = JSONField(default=dict)
    # Redundancy: the CI stays up while at least ``min_members_up`` of the CIs it depends on
    # through redundant relations are up (clusters, pools).  None: every dependency is needed.
    min_members_up = pw.IntegerField(null=True)
    external_key = pw.CharField(max_length=200, null=True, index=True)
    # The CI's graph handle: a small integer the impact walk keys on instead of the 32-character
    # UUID (see models/graph_index.py).  Local to this database: assigned by the database on
    # insert (trigger on SQLite, sequence on PostgreSQL), never set by a service, never copied.
    gid = pw.BigIntegerField(null=True, unique=True)

    class Meta:
        indexes = ((("ci_class", "name"), False), (("site", "name"), False))


class Relation(TrackedModel):
    RECORD_KIND = "relation"
    # No single-column indexes: (source, type, target) and (target, source) below cover them.
    source = pw.ForeignKeyField(CI, backref="outgoing", on_delete="CASCADE", index=False)
    target = pw.ForeignKeyField(CI, backref="incoming", on_delete="CASCADE", index=False)
    type = pw.CharField(max_length=32)
    propagates = pw.CharField(max_length=20, default="target_to_source")
    redundant = pw.BooleanField(default=False)  # member of the source's redundancy group
    # The gids of source and target, kept by the database (models/graph_index.py).
    source_gid = pw.BigIntegerField(null=True)
    target_gid = pw.BigIntegerField(null=True)

    class Meta:
        # (source, type, target) is the natural key and serves lookups by source; (target) serves
        # incoming lists and the cascade when a CI goes.  The two gid indexes cover the impact
        # walk's probes in either direction ("who depends on these CIs?", "what do these need?")
        # without reading the table rows; ``redundant`` second lets the walk read plain and
        # redundancy-group relations as separate ranges.
        indexes = ((("source", "type", "target"), True),
                   (("target",), False),
                   (("target_gid", "redundant", "source_gid", "type", "propagates"), False),
                   (("source_gid", "redundant", "target_gid", "type", "propagates"), False))


# The few relations that do not propagate the default way (target -> source): impact analysis
# probes this partial index to skip the source -> target walk when there are none.
Relation.add_index(NamedIndex(Relation, (Relation.propagates, Relation.source),
                               where=(Relation.propagates != "target_to_source"),
                               name="relation_nondefault_propagation"))
# Likewise for redundancy-group members: without any, the walk reads no group ranges at all.
Relation.add_index(NamedIndex(Relation, (Relation.source_gid,),
                               where=(Relation.redundant == True),  # noqa: E712 - SQL
                               name="relation_redundant_members"))


class Baseline(TrackedModel):
    RECORD_KIND = "baseline"
    name = pw.CharField(max_length=200, unique=True)
    description = pw.TextField(null=True)
    taken_at = pw.DateTimeField(default=utcnow)
    scope = JSONField(null=True)  # how the CI set was chosen (class, site, service...)


class BaselineItem(BaseModel):
    """A CI or relation as it was when the baseline was taken (``data`` is its snapshot)."""
    PARENT = "baseline"
    LABEL_FIELDS = ("item_kind", "key")

    baseline = pw.ForeignKeyField(Baseline, backref="items", on_delete="CASCADE")
    item_kind = pw.CharField(max_length=16)  # "ci" or "relation"
    key = pw.CharField(max_length=600)  # CI name, or "source|type|target"
    data = JSONField()

    class Meta:
        indexes = ((("baseline", "item_kind", "key"), True),)
