"""The records kept in the state store: frozen dataclasses stored as versioned JSON.

Every value is a JSON object ``{"kind": "<Record>", "v": <schema version>, ...fields}``. Decoding ignores
unknown fields and fills missing ones with their defaults, so a newer minor writer and an older reader
coexist; a record whose ``v`` is newer than this code knows is refused with an upgrade hint. Times are
milliseconds of the store's clock.
"""

from __future__ import annotations

import enum
import json
import types
import typing
from dataclasses import MISSING, dataclass, field, fields, is_dataclass
from typing import Any, TypeVar

from roboflow.errors import StateError

__all__ = [
    "SCHEMA_VERSION",
    "BatchPhase",
    "BatchSpec",
    "CheckpointState",
    "HeartbeatRecord",
    "LockRecord",
    "PhaseRecord",
    "UnitState",
    "WorkUnit",
    "WorkerStatus",
    "decode",
    "encode",
]

SCHEMA_VERSION = 1
R = TypeVar("R")


class BatchPhase(enum.Enum):
    """Phases of a batch (see :mod:`roboflow.coordination.batches` for the allowed transitions)."""

    PENDING = "Pending"
    DISCOVERING = "Discovering"
    RUNNING = "Running"
    MERGING = "Merging"
    COMPLETE = "Complete"
    FAILED = "Failed"
    CANCELLED = "Cancelled"


class UnitState(enum.Enum):
    """States of a work unit (see :mod:`roboflow.coordination.units`)."""

    PENDING = "Pending"
    PROCESSING = "Processing"
    COMPLETE = "Complete"
    FAILED = "Failed"  # a permanent (user) error: never retried
    DEAD = "Dead"  # retryable failures exhausted max_attempts
    CANCELLED = "Cancelled"


class WorkerStatus(enum.Enum):
    IDLE = "Idle"
    BUSY = "Busy"
    STOPPED = "Stopped"
    LOST = "Lost"  # set by the reaper when it took the worker's unit away


@dataclass(frozen=True, slots=True)
class BatchSpec:
    """What was submitted: ``roboflow/batch/{batch_id}``."""

    batch_id: str
    sources: tuple[str, ...]
    output_url: str
    config_hash: str = ""
    config_text: str = ""
    format: str = "lerobot-v3.0"
    limits: dict[str, Any] = field(default_factory=dict)
    submitted_at_ms: int = 0
    submitted_by: str = ""


@dataclass(frozen=True, slots=True)
class PhaseRecord:
    """The batch's phase: ``roboflow/batch/{batch_id}/phase``."""

    phase: BatchPhase
    changed_at_ms: int = 0
    message: str = ""


@dataclass(frozen=True, slots=True)
class CheckpointState:
    """Progress within one unit: ``roboflow/worker/{pod_id}/checkpoint`` (and kept in the unit when reclaimed)."""

    batch_id: str
    unit_id: str
    last_frame_index: int = -1
    last_episode_index: int = -1
    checkpoint_time_ms: int = 0
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class WorkUnit:
    """One recording to convert: ``roboflow/batch/{batch_id}/units/{unit_id}``.

    ``owner``/``lease_epoch`` name the worker (and its lease incarnation) that claimed it; they stay set on
    terminal states (who finished it) and are cleared when the unit goes back to Pending. ``queued_at_ms`` is
    when a message for it was last sent to the broker (the reconciler re-sends lost ones).
    """

    batch_id: str
    unit_id: str
    source_url: str
    size_bytes: int = 0
    state: UnitState = UnitState.PENDING
    attempts: int = 0
    max_attempts: int = 3
    owner: str | None = None
    lease_epoch: int = 0
    error: str | None = None
    result: dict[str, Any] | None = None
    checkpoint: CheckpointState | None = None
    updated_at_ms: int = 0
    queued_at_ms: int = 0


@dataclass(frozen=True, slots=True)
class HeartbeatRecord:
    """A worker's liveness: ``roboflow/worker/{pod_id}/heartbeat``, written only by that worker (and the reaper)."""

    pod_id: str
    last_seen_ms: int
    status: WorkerStatus = WorkerStatus.IDLE
    epoch: int = 0
    batch_id: str | None = None
    unit_id: str | None = None
    host: str = ""
    pid: int = 0


@dataclass(frozen=True, slots=True)
class LockRecord:
    """A lease: who holds it, which incarnation (``epoch``, bumped on every new holder), until when."""

    owner: str
    epoch: int
    expires_ms: int
    acquired_ms: int = 0


def _to_json(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _to_json(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, (tuple, list)):
        return [_to_json(v) for v in value]
    return value


def encode(record: Any) -> bytes:
    """Versioned JSON bytes of a record."""
    payload = {"kind": type(record).__name__, "v": SCHEMA_VERSION, **_to_json(record)}
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def _from_json(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(hint) if a is not type(None)]
        return _from_json(inner[0], value)
    if origin is tuple:
        return tuple(_from_json(typing.get_args(hint)[0], v) for v in value)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint(value)
    if isinstance(hint, type) and is_dataclass(hint):
        return _build(hint, value)
    return value


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    """Resolved field types of a record class (resolving them is slow: cached)."""
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _build(cls: type[R], payload: dict[str, Any]) -> R:
    hints = _hints(cls)
    kwargs: dict[str, Any] = {}
    for f in fields(cls):  # type: ignore[arg-type]
        if f.name in payload:
            kwargs[f.name] = _from_json(hints[f.name], payload[f.name])
        elif f.default is MISSING and f.default_factory is MISSING:
            raise KeyError(f.name)
    return cls(**kwargs)


def decode(cls: type[R], data: bytes, *, key: str = "") -> R:
    """The record of type ``cls`` in ``data`` (read at ``key``, named in errors)."""
    try:
        payload = json.loads(data)
        kind, version = payload.get("kind"), payload.get("v")
    except (ValueError, AttributeError) as err:
        raise StateError(f"unreadable record: {err}", path=key) from err
    if kind != cls.__name__:
        raise StateError(f"expected a {cls.__name__} record, found {kind!r}", path=key)
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise StateError(
            f"{kind} record has schema version {version!r}, this roboflow reads up to {SCHEMA_VERSION}",
            path=key,
            hint="upgrade roboflow on this machine",
        )
    try:
        return _build(cls, payload)
    except (KeyError, TypeError, ValueError) as err:
        raise StateError(f"malformed {kind} record: {err!r}", path=key) from err
