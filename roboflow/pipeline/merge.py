"""The merge stage: shards (in recording order) -> the final dataset, published at once.

A local dataset is assembled in a hidden sibling directory of the output (``.<name>.partial-<id>``) and
renamed into place only when complete; an existing output is replaced only with ``overwrite``, and only after
the new one is complete. A remote dataset (``s3://``, ``oss://``) is assembled in a local temporary directory and uploaded
with ``meta/info.json`` last (:class:`roboflow.lerobot.merge.StorageIO`); with ``overwrite`` an old dataset is
replaced only once the new one is uploaded complete beside it (``.<name>.new``), which an error names if the
swap fails. Either way a failed or interrupted run never leaves a half-written dataset, nor the user without one.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from roboflow.errors import DatasetError
from roboflow.lerobot.layout import INFO_PATH
from roboflow.lerobot.merge import MergeResult, StorageIO, merge_datasets
from roboflow.pipeline.convert import ShardResult
from roboflow.storage import StorageOptions, open_storage, parse_url

__all__ = ["MergeContext", "check_output", "incompatible_shards", "is_remote", "merge_shards", "shard_info"]


@dataclass(frozen=True, slots=True)
class MergeContext:
    """Settings of the merge.

    Attributes:
        format: Output version.
        overwrite: Replace an existing output.
        provenance: Top-level fields of ``meta/roboflow.json``.
        storage: Options for a remote output (None: defaults, credentials from the environment).
    """

    format: str
    overwrite: bool = False
    provenance: Mapping[str, Any] | None = None
    storage: StorageOptions | None = None


def is_remote(out: str | Path) -> bool:
    """Whether ``out`` is an object-store URL (``s3://``, ``oss://``) rather than a local path."""
    return isinstance(out, str) and parse_url(out).scheme != "file"


def check_output(out: str | Path, *, overwrite: bool, options: StorageOptions | None = None) -> None:
    """Refuse an existing non-empty output unless ``overwrite``, and even then unless it is a LeRobot dataset.

    ``--overwrite`` replaces a dataset, or what an interrupted upload left of one (nothing outside LeRobot's
    ``meta/``, ``data/``, ``videos/``), or fills an empty directory; it never deletes a directory or prefix of
    other files. Checked before any work is done.

    Args:
        out: A local directory or a storage URL (a prefix holding any object counts as existing).
        overwrite: Whether an existing dataset may be replaced.
        options: Storage options for a remote output.

    Raises:
        DatasetError: ``out`` exists (and ``overwrite`` is false), is a file, or holds files but no dataset.
        StorageError: A remote output cannot be listed.
    """
    if is_remote(out):
        tops = {info.key.split("/", 1)[0] for info in open_storage(str(out), options).list()}
        if tops:
            _refuse_existing(str(out), overwrite=overwrite, dataset=tops <= _DATASET_TOPS)
        return
    out = Path(parse_url(str(out)).path)
    if out.exists() and not out.is_dir():
        raise DatasetError("exists and is not a directory", path=str(out))
    if out.is_dir() and any(out.iterdir()):
        _refuse_existing(str(out), overwrite=overwrite, dataset={p.name for p in out.iterdir()} <= _DATASET_TOPS)


#: What a LeRobot dataset holds at its top level (v2.1 and v3.0).
_DATASET_TOPS = frozenset({"meta", "data", "videos"})


def _refuse_existing(out: str, *, overwrite: bool, dataset: bool) -> None:
    if not overwrite:
        raise DatasetError("exists already, not overwriting", path=out, hint="pass --overwrite to replace it")
    if not dataset:
        raise DatasetError(f"holds other files than a LeRobot dataset ({', '.join(sorted(_DATASET_TOPS))}); "
                           "--overwrite replaces only datasets", path=out,
                           hint="choose another output, or empty it yourself")


def incompatible_shards(results: Sequence[ShardResult]) -> list[tuple[ShardResult, str]]:
    """Shards whose fps, robot type or features differ from what most shards share (a tie: the first in order),
    each with a one-line reason naming its recording and what differs.
    """
    heads = [_signature(shard_info(result.shard)) for result in results]
    keys = [json.dumps(head, sort_keys=True) for head in heads]
    counts = Counter(keys)
    reference_key = max(keys, key=lambda key: (counts[key], -keys.index(key)), default="")
    reference = heads[keys.index(reference_key)] if heads else {}
    return [
        (result, f"{result.item.url}: features differ from the other recordings' ({_difference(head, reference)})")
        for result, head, key in zip(results, heads, keys, strict=True)
        if key != reference_key
    ]


def _signature(info: Mapping[str, Any]) -> dict[str, Any]:
    return {"fps": info["fps"], "robot_type": info.get("robot_type"), **info["features"]}


def _difference(head: Mapping[str, Any], reference: Mapping[str, Any]) -> str:
    """``observation.state: shape [7] here, [14] in the others; fps: 15 here, 30 in the others``."""
    parts = []
    for key in sorted(k for k in head.keys() | reference.keys() if head.get(k) != reference.get(k)):
        mine, theirs = head.get(key), reference.get(key)
        if mine is None or theirs is None:
            parts.append(f"{key}: {'missing here' if mine is None else 'only here'}")
        elif isinstance(mine, dict) and isinstance(theirs, dict):
            field = next((f for f in ("dtype", "shape", "names") if mine.get(f) != theirs.get(f)), None)
            if field is None:
                parts.append(f"{key}: {_short(mine)} here, {_short(theirs)} in the others")
            else:
                parts.append(f"{key}: {field} {_short(mine.get(field))} here, {_short(theirs.get(field))} in the others")
        else:
            parts.append(f"{key}: {_short(mine)} here, {_short(theirs)} in the others")
    shown = "; ".join(parts[:3])
    return shown + (f"; and {len(parts) - 3} more" if len(parts) > 3 else "")


def shard_info(location: Path | str) -> dict[str, Any]:
    """The ``meta/info.json`` of a shard (a directory or a storage URL)."""
    with open_storage(str(location)).reader(INFO_PATH) as stream:
        info: dict[str, Any] = json.load(stream)
    return info


def merge_shards(results: Sequence[ShardResult], out: str | Path, context: MergeContext) -> MergeResult:
    """Merge the shards, ordered by their recordings, into ``out`` (a local directory or a storage URL).

    Raises:
        DatasetError: No shards, or the output exists (without ``overwrite``) or cannot be written.
        StorageError, TransientStorageError: A remote output could not be written.
    """
    ordered = sorted(results, key=lambda r: r.item.index)
    shards = [str(r.shard) for r in ordered]
    try:
        if is_remote(out):
            return merge_datasets(shards, str(out), format=context.format, provenance=context.provenance,
                                  io=StorageIO(context.storage), overwrite=context.overwrite)
        return _merge_local(shards, Path(parse_url(str(out)).path), context)
    except DatasetError as err:
        urls = dict(zip(shards, (r.item.url for r in ordered), strict=True))
        if err.path in urls:
            raise DatasetError(err.message, path=urls[err.path], hint=err.hint) from err
        raise


def _merge_local(shards: list[str], out: Path, context: MergeContext) -> MergeResult:
    check_output(out, overwrite=context.overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.parent / f".{out.name}.partial-{uuid.uuid4().hex[:8]}"
    try:
        merged = merge_datasets(shards, str(partial), format=context.format, provenance=context.provenance)
        _publish(partial, out, overwrite=context.overwrite)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return merged


def _publish(partial: Path, out: Path, *, overwrite: bool) -> None:
    """Rename the complete dataset into place; an old output is removed only after that."""
    old: Path | None = None
    if out.exists():
        if any(out.iterdir()):
            check_output(out, overwrite=overwrite)
            old = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
            os.replace(out, old)
        else:
            out.rmdir()
    os.replace(partial, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True) if value is not None else "absent"
    return text if len(text) <= 80 else text[:77] + "..."
