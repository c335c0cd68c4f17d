"""Converting one unit on a fleet worker: claim, convert, stage the shard, complete.

The claim in the state store is what de-duplicates work: a unit already Complete answers with its recorded
result, one held under a live lease by another worker is left alone. While converting, every few hundred
messages the worker checks its session (a fenced or partitioned worker stops within a second). Each episode
becomes a one-episode part, ``<staging>/<unit_id>/attempt-<n>/part-NNNN``, staged as soon as it is finished and
named in the worker's checkpoint: a unit reclaimed after a kill resumes at its first unfinished episode,
reusing the parts of earlier attempts, and a zombie of an earlier attempt can never write into a part the
merge will read. User errors fail the unit for good; infrastructure errors give it back for a
retry with backoff, until ``max_attempts`` makes it Dead.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from roboflow.config import parse_config
from roboflow.config.model import Config
from roboflow.coordination.batches import get_batch
from roboflow.coordination.checkpoints import save_checkpoint
from roboflow.coordination.errors import IllegalTransitionError, LeaseLostError
from roboflow.coordination.records import BatchSpec, UnitState, WorkUnit
from roboflow.coordination.units import Claim, claim_unit, complete_unit, fail_unit, get_unit
from roboflow.errors import InfrastructureError, StateError, UserError
from roboflow.fleet.batch import dataset_version, staging_root
from roboflow.fleet.runtime import Runtime
from roboflow.pipeline.convert import (
    ConvertContext,
    EpisodeParts,
    ShardResult,
    convert_recording,
    stamp_parts,
)
from roboflow.pipeline.environment import environment_problem
from roboflow.pipeline.merge import shard_info
from roboflow.pipeline.scan import WorkItem
from roboflow.storage import parse_url, upload_tree

__all__ = ["UnitOutcome", "retry_delay_s", "run_unit"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class UnitOutcome:
    """What a convert task returns (``summary``, small: the chord's callback reads them all) and whether to retry."""

    summary: dict[str, Any] = field(default_factory=dict)
    retry_in_s: float | None = None


def retry_delay_s(attempts: int) -> float:
    """Backoff before the next attempt of a unit: 5 s, 10 s, 20 s, ... at most 5 minutes."""
    return float(min(300, 5 * 2 ** max(attempts - 1, 0)))


def _summary(unit: WorkUnit, **extra: Any) -> dict[str, Any]:
    """A few fields (every chord header result is stored, and the callback reads them all)."""
    result = unit.result or {}
    return {"unit_id": unit.unit_id, "state": unit.state.value.lower(), "frames": result.get("frames", 0),
            "episodes": result.get("episodes", 0), **extra}


def run_unit(rt: Runtime, batch_id: str, unit_id: str) -> UnitOutcome:
    """Convert the unit if this worker can claim it; see the module docstring.

    Raises:
        InfrastructureError: The state store failed outside the conversion (the task retries the message).
    """
    session = rt.session()
    try:
        claim = claim_unit(session, batch_id, unit_id)
    except IllegalTransitionError as err:
        unit = get_unit(rt.store, batch_id, unit_id)
        log.info("unit %s/%s not claimed: %s", batch_id, unit_id, err.message)
        return UnitOutcome(_summary(unit, claimed=False))
    except LeaseLostError as err:
        log.info("unit %s/%s not claimed, session lost: %s", batch_id, unit_id, err.message)
        return UnitOutcome({"unit_id": unit_id, "state": "lost"})
    spec = get_batch(rt.store, batch_id).spec
    try:
        parts, frames, result = _convert(rt, spec, claim)
        unit = complete_unit(session, claim, {
            "shards": parts, "frames": frames, "episodes": len(parts), "resumed_at": len(parts) - len(result.parts),
            "seconds": round(result.seconds, 3), "claimed_at_ms": claim.unit.updated_at_ms,
        })
        return UnitOutcome(_summary(unit))
    except (LeaseLostError, IllegalTransitionError) as err:
        log.info("unit %s/%s: stopped, no longer ours: %s", batch_id, unit_id, err.message)
        return UnitOutcome({"unit_id": unit_id, "state": "lost"})
    except UserError as err:  # a full disk surfaces as one (an encoder's error): not the recording's fault
        return _failed(rt, claim, str(err), retryable=environment_problem(err, []) is not None)
    except (InfrastructureError, OSError) as err:
        return _failed(rt, claim, str(err), retryable=True)
    except Exception as err:
        log.exception("unit %s/%s: unexpected error", batch_id, unit_id)
        return _failed(rt, claim, f"{claim.unit.source_url}: unexpected {type(err).__name__}: {err}", retryable=False)


def _failed(rt: Runtime, claim: Claim, error: str, *, retryable: bool) -> UnitOutcome:
    try:
        unit = fail_unit(rt.session(), claim, error, retryable=retryable)
    except LeaseLostError as err:
        log.info("unit %s/%s: failure not recorded, no longer ours: %s", claim.unit.batch_id, claim.unit.unit_id, err)
        return UnitOutcome({"unit_id": claim.unit.unit_id, "state": "lost"})
    log.warning("unit %s/%s %s: %s", unit.batch_id, unit.unit_id, unit.state.value, error)
    retry = retry_delay_s(unit.attempts) if unit.state is UnitState.PENDING else None
    return UnitOutcome(_summary(unit, error=error), retry_in_s=retry)


_CONFIGS: dict[str, Config] = {}


def convert_context(spec: BatchSpec, staging: Path) -> ConvertContext:
    """How a worker converts the batch's recordings: its config and format, and ``--strict`` as submitted (damage
    inside a recording, such as a corrupt video packet, fails the recording instead of leaving a frame out)."""
    return ConvertContext(config=batch_config(spec), staging=staging, format=dataset_version(spec),
                          strict=bool(spec.limits.get("strict")))


def batch_config(spec: BatchSpec) -> Config:
    """The config pinned in the batch (parsed once per process and batch).

    Raises:
        StateError: The stored text does not match its SHA-256 (a damaged record).
    """
    config = _CONFIGS.get(spec.batch_id)
    if config is None:
        config = parse_config(spec.config_text, origin=str(spec.limits.get("config_origin") or "<batch config>"))
        if spec.config_hash and config.sha256 != spec.config_hash:
            raise StateError(f"batch {spec.batch_id}: its config does not match the SHA-256 recorded at submit")
        _CONFIGS[spec.batch_id] = config
    return config


def _convert(rt: Runtime, spec: BatchSpec, claim: Claim) -> tuple[list[str], int, ShardResult]:
    """Convert the claimed unit, an episode per part, resuming after the parts its checkpoint names.

    Returns every part's URL (earlier attempts' first), the frames in them, and this attempt's result.
    """
    session = rt.session()
    unit = claim.unit
    done: list[str] = list(claim.checkpoint.data.get("parts", []))
    frames = int(claim.checkpoint.data.get("frames", 0))
    attempt_url = f"{staging_root(spec)}/{unit.unit_id}/attempt-{unit.attempts}"
    remote = parse_url(attempt_url).scheme != "file"

    def check(_done: int, _total: int | None, _frames: int) -> None:
        session.check()

    def staged(part: Path, position: int) -> None:
        nonlocal frames
        frames += shard_info(part)["total_frames"]  # read while the part is still local
        url = f"{attempt_url}/{part.name}"
        if remote:
            upload_tree(part, url)
            shutil.rmtree(part, ignore_errors=True)
        done.append(url)
        save_checkpoint(session, claim, frame_index=frames - 1, episode_index=position,
                        data={"parts": done, "next": position + 1, "frames": frames})

    parts = EpisodeParts(resume_at=int(claim.checkpoint.data.get("next", 0)), on_part=staged)
    item = WorkItem(index=0, url=unit.source_url, key=PurePosixPath(attempt_url).name)
    with tempfile.TemporaryDirectory(prefix="roboflow-shard-") as tmp:
        root = Path(tmp) if remote else Path(parse_url(attempt_url).path).parent
        context = convert_context(spec, root)
        result = convert_recording(item, context, check, parts)
    for warning in result.warnings:
        log.warning("%s: %s", item.url, warning)
    stamp_parts(done, result.source, result.skipped_episodes)
    return done, frames, result

