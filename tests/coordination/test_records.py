"""Versioned JSON records."""

from __future__ import annotations

import json

import pytest

from roboflow.coordination.records import (
    SCHEMA_VERSION,
    BatchPhase,
    BatchSpec,
    CheckpointState,
    HeartbeatRecord,
    LockRecord,
    PhaseRecord,
    UnitState,
    WorkerStatus,
    WorkUnit,
    decode,
    encode,
)
from roboflow.errors import StateError

RECORDS = [
    BatchSpec(
        "b1",
        ("s3://bucket/a.mcap", "s3://bucket/b.bag"),
        "s3://out/",
        "abc",
        "[dataset]\n",
        limits={"fps": 30},
    ),
    PhaseRecord(BatchPhase.MERGING, 17, "ok"),
    WorkUnit(
        "b1",
        "u1",
        "s3://bucket/a.mcap",
        1024,
        UnitState.PROCESSING,
        attempts=2,
        owner="pod-1",
        lease_epoch=4,
        result={"frames": 10},
        checkpoint=CheckpointState("b1", "u1", 99, 2, 5, {"offset": 7}),
    ),
    HeartbeatRecord("pod-1", 123, WorkerStatus.BUSY, 4, "b1", "u1", "host", 42),
    LockRecord("pod-1:1:abc", 3, 999, 1),
    CheckpointState("b1", "u1"),
]


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: type(r).__name__)
def test_round_trip(record: object) -> None:
    data = encode(record)
    payload = json.loads(data)
    assert payload["kind"] == type(record).__name__ and payload["v"] == SCHEMA_VERSION
    assert decode(type(record), data) == record


def test_unknown_fields_are_ignored_and_missing_ones_defaulted() -> None:
    data = json.dumps(
        {"kind": "WorkUnit", "v": 1, "batch_id": "b", "unit_id": "u", "source_url": "x", "new": 1}
    )
    unit = decode(WorkUnit, data.encode())
    assert unit.state is UnitState.PENDING and unit.max_attempts == 3 and unit.checkpoint is None


def test_newer_schema_is_refused_with_an_upgrade_hint() -> None:
    data = json.dumps(
        {"kind": "LockRecord", "v": SCHEMA_VERSION + 1, "owner": "x", "epoch": 1, "expires_ms": 0}
    )
    with pytest.raises(StateError, match="upgrade roboflow") as info:
        decode(LockRecord, data.encode(), key="roboflow/worker/p/lock")
    assert info.value.path == "roboflow/worker/p/lock"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not json", "unreadable record"),
        (encode(LockRecord("o", 1, 2)), "expected a WorkUnit record, found 'LockRecord'"),
        (b'{"kind": "WorkUnit", "v": 1, "batch_id": "b"}', "malformed WorkUnit record"),
        (
            b'{"kind": "WorkUnit", "v": 1, "batch_id": "b", "unit_id": "u", "source_url": "x", "state": "Odd"}',
            "malformed WorkUnit record",
        ),
    ],
)
def test_bad_records_raise_state_errors(data: bytes, message: str) -> None:
    with pytest.raises(StateError, match=message):
        decode(WorkUnit, data)
