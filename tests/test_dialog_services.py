"""Service calls behind the settings and editor dialogs: one read for what a dialog shows, one
versioned write for what it saves (a stale edit conflicts and writes nothing)."""

import pytest

from itsmdesk.errors import ConflictError, ValidationError
from itsmdesk.models.servicedesk import SLADefinition
from itsmdesk.services import records
from itsmdesk.services.context import SYSTEM
from itsmdesk.services.servicedesk import categories, priority, queues, sla


def test_sla_settings_read_and_saved_in_one_write(db):
    sla.set_target("incident", 2, 20, 400)
    read = sla.settings_for("incident")
    assert read.targets[2] == (20, 400) and read.targets[1] == sla.DEFAULT_TARGETS[1]
    assert read.versions[2] == 1 and read.versions[1] == 0
    assert read.escalate_pct == sla.DEFAULT_ESCALATE_PCT and read.escalate_version == 0
    targets = {p: (t[0] + 1, t[1] + 1) for p, t in read.targets.items()}
    with records.capture() as changes:
        stored = sla.save_settings("incident", targets, 60, SYSTEM, read.versions,
                                   read.escalate_version)
    assert stored.targets == targets and stored.escalate_pct == 60
    assert stored.versions[2] == 2 and stored.escalate_version == 1
    assert len(changes.batches) == 1  # one transaction
    # a second save against the first read conflicts and writes nothing
    with pytest.raises(ConflictError):
        sla.save_settings("incident", read.targets, 50, SYSTEM, read.versions, stored.escalate_version)
    assert sla.settings_for("incident").targets == targets and sla.escalate_pct() == 60


def test_sla_settings_refused_target_writes_nothing(db):
    read = sla.settings_for("request")
    targets = dict(read.targets)
    targets[5] = (100, 50)
    with pytest.raises(ValidationError):
        sla.save_settings("request", targets, 40, SYSTEM, read.versions, read.escalate_version)
    assert not SLADefinition.select().exists() and sla.escalate_pct() == sla.DEFAULT_ESCALATE_PCT


def test_matrix_for_editing_versions(db):
    matrix, version = priority.matrix_for_editing()
    assert matrix == priority.DEFAULT_MATRIX and version == 0
    theirs = {**matrix, "3,3": 4}
    assert priority.set_matrix(theirs, SYSTEM, version) == 1
    with pytest.raises(ConflictError):  # saved against "never saved" after someone saved it
        priority.set_matrix({**matrix, "1,1": 2}, SYSTEM, 0)
    assert priority.matrix_for_editing() == (theirs, 1)


def test_editor_reads(db):
    row = queues.save_queue("Shared", [], shared=True)
    data = queues.editor_data(row.id)
    assert data.shared and "status" in data.choices
    assert not queues.editor_data(None).shared
    queues.delete_queue(row.id, row.version)
    assert not queues.editor_data(row.id).shared  # gone meanwhile: the save will say so
    categories.create_category("Printing", "incident")
    read = categories.editor_data()
    assert [c.name for c in read.categories] == ["Printing"] and read.teams == []
