"""Batches as a user sees them: what a submit records, where its shards wait, and how far it got.

A batch pins everything a worker needs: the inputs, the output, the config text with its SHA-256 (workers
never read the submitter's files), the format, the failure policy and the staging location.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from roboflow.config.model import Config
from roboflow.coordination import StateStore
from roboflow.coordination.batches import FINAL_PHASES, create_batch, get_batch
from roboflow.coordination.keys import validate_id
from roboflow.coordination.records import BatchSpec, UnitState, WorkUnit
from roboflow.coordination.units import list_units
from roboflow.errors import ConfigError
from roboflow.storage import parse_url

__all__ = [
    "FINAL_PHASES",
    "TERMINAL_UNITS",
    "SubmitOptions",
    "batch_summary",
    "dataset_version",
    "new_batch_id",
    "staging_root",
    "submit_batch",
    "unit_counts",
    "unit_id_for",
]

TERMINAL_UNITS = frozenset({UnitState.COMPLETE, UnitState.FAILED, UnitState.DEAD, UnitState.CANCELLED})


@dataclass(frozen=True, slots=True)
class SubmitOptions:
    """Options of ``roboflow submit``.

    Attributes:
        format: Dataset version (None: the config's).
        batch_id: The batch's id (None: a new one).
        max_attempts: Claims of a unit before a retried infrastructure failure makes it Dead.
        strict: Fail the batch (publish nothing) if any recording fails.
        overwrite: Replace an existing output.
        staging_url: Where shards wait (None: beside the output).
    """

    format: str | None = None
    batch_id: str | None = None
    max_attempts: int = 3
    strict: bool = False
    overwrite: bool = False
    staging_url: str | None = None


def new_batch_id() -> str:
    """A fresh id, sortable by submit time: ``b20261205-143012-3f9a1c``."""
    return f"b{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{uuid.uuid4().hex[:6]}"


def unit_id_for(source_url: str) -> str:
    """The unit id of a recording: its name (readable in Flower and logs) and a digest of its whole URL."""
    digest = hashlib.sha1(source_url.encode()).hexdigest()[:12]
    name = PurePosixPath(source_url.split("://", 1)[-1].rstrip("/")).name
    stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:60]
    return f"{stem}-{digest}"


def default_staging(output_url: str) -> str:
    """A hidden sibling of the output: ``/data/out`` → ``/data/.out.staging`` (same for bucket prefixes)."""
    location = parse_url(output_url)
    if not location.name:
        raise ConfigError("the output must name a directory or prefix, not a whole bucket", path=output_url)
    parent = location.parent.url.rstrip("/")
    return f"{parent}/.{location.name}.staging"


def dataset_version(spec: BatchSpec) -> str:
    """``v3.0``/``v2.1`` from the batch's format (``lerobot-v3.0`` in records of the seed's spelling)."""
    return spec.format.removeprefix("lerobot-")


def staging_root(spec: BatchSpec) -> str:
    """The URL under which the batch's shards wait for the merge."""
    base = spec.limits.get("staging_url") or default_staging(spec.output_url)
    return f"{str(base).rstrip('/')}/{spec.batch_id}"


def submit_batch(
    store: StateStore, inputs: Sequence[str], config: Config, output_url: str, options: SubmitOptions
) -> BatchSpec:
    """Record a new batch (phase Pending); the caller then asks a scanner to expand it.

    Raises:
        InvalidIdError: ``options.batch_id`` cannot be a key.
        IllegalTransitionError: A different batch with that id exists.
    """
    batch_id = validate_id("batch", options.batch_id or new_batch_id())
    limits: dict[str, Any] = {
        "max_attempts": options.max_attempts,
        "strict": options.strict,
        "overwrite": options.overwrite,
        "config_origin": config.origin,
    }
    if options.staging_url:
        limits["staging_url"] = options.staging_url
    spec = BatchSpec(
        batch_id=batch_id,
        sources=tuple(inputs),
        output_url=output_url,
        config_hash=config.sha256,
        config_text=config.text,
        format=options.format or config.dataset.format,
        limits=limits,
        submitted_at_ms=int(time.time() * 1000),
        submitted_by=_submitter(),
    )
    return create_batch(store, spec).spec


def _submitter() -> str:
    import getpass
    import socket

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def unit_counts(units: Sequence[WorkUnit]) -> dict[str, int]:
    """Units per state, every state present, lowercase names."""
    counts = Counter(unit.state for unit in units)
    return {state.value.lower(): counts.get(state, 0) for state in UnitState}


def batch_summary(store: StateStore, batch_id: str) -> dict[str, Any]:
    """What ``roboflow batch status --json`` prints."""
    status = get_batch(store, batch_id)
    units = list_units(store, batch_id)
    frames = sum(int((u.result or {}).get("frames", 0)) for u in units if u.state is UnitState.COMPLETE)
    return {
        "batch_id": batch_id,
        "phase": status.phase.phase.value.lower(),
        "message": status.phase.message,
        "units": unit_counts(units),
        "total": len(units),
        "frames": frames,
        "output": status.spec.output_url,
        "format": status.spec.format,
        "submitted_at_ms": status.spec.submitted_at_ms,
        "submitted_by": status.spec.submitted_by,
        "failed": [
            {"unit_id": u.unit_id, "source": u.source_url, "state": u.state.value.lower(), "error": u.error}
            for u in units
            if u.state in (UnitState.FAILED, UnitState.DEAD)
        ],
    }
