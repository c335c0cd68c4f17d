"""Merge datasets ("shards") into one, in the given order.

Episodes are renumbered in shard order, tasks unioned in order of first appearance, videos joined by stream
copy, stats aggregated; ``frame_index`` and ``timestamp`` are kept. Shards must agree on fps, robot type and
features. The output depends only on the shards and the arguments: merging the same shards twice gives
byte-identical files.

Shards and the output are reached through a :class:`MergeIO`: it turns a location string into a local
directory for the time it is used. :class:`StorageIO` (the default) takes any storage URL of
:mod:`roboflow.storage` (a local path, ``file://``, ``s3://``, ``oss://``): a remote shard is downloaded
while it is read, a remote output is written to a temporary directory and uploaded when the merge has
succeeded, ``meta/info.json`` last; an existing one is replaced through a staged copy
(:func:`roboflow.storage.publish.publish_tree`). :class:`LocalIO` takes local paths only.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from roboflow.errors import DatasetError
from roboflow.lerobot import layout
from roboflow.lerobot.assemble import Assembler, DatasetHeader, FileLimits, open_assembler, prepare_output
from roboflow.lerobot.reader import open_dataset
from roboflow.lerobot.validate import validate_dataset

if TYPE_CHECKING:
    from roboflow.storage import StorageOptions

__all__ = ["PROVENANCE_PATH", "LocalIO", "MergeIO", "MergeResult", "StorageIO", "merge_datasets"]

#: Per-dataset provenance a shard may carry; merged into the output's file of the same name.
PROVENANCE_PATH = "meta/roboflow.json"


class MergeIO(Protocol):
    """Where shards come from and where the merged dataset goes."""

    def shard(self, location: str) -> AbstractContextManager[Path]:
        """A local directory holding the shard at ``location`` while the context is open."""
        ...

    def output(self, location: str, *, overwrite: bool) -> AbstractContextManager[Path]:
        """An empty local directory to write the dataset into; a clean exit publishes it at ``location``.

        Raises:
            DatasetError: ``location`` holds files and ``overwrite`` is false.
        """
        ...


class LocalIO:
    """Shards and output are local directories: nothing is copied."""

    @contextmanager
    def shard(self, location: str) -> Iterator[Path]:
        path = Path(location)
        if not path.is_dir():
            raise DatasetError("shard not found", path=location)
        yield path

    @contextmanager
    def output(self, location: str, *, overwrite: bool) -> Iterator[Path]:
        path = Path(location)
        prepare_output(path, overwrite=overwrite)
        yield path


class StorageIO:
    """Shards and output at storage URLs (:mod:`roboflow.storage`); local ones are used in place.

    Args:
        options: Storage options (endpoint, credentials, retries) for remote URLs.
    """

    def __init__(self, options: StorageOptions | None = None) -> None:
        self.options = options

    @contextmanager
    def shard(self, location: str) -> Iterator[Path]:
        from roboflow.storage import local_copy

        with local_copy(location, self.options) as path:
            if not path.is_dir():
                raise DatasetError("shard is not a dataset directory", path=location)
            yield path

    @contextmanager
    def output(self, location: str, *, overwrite: bool) -> Iterator[Path]:
        from roboflow.storage import open_storage, parse_url
        from roboflow.storage.publish import publish_tree

        parsed = parse_url(location)
        if parsed.scheme == "file":
            path = Path(parsed.path)
            prepare_output(path, overwrite=overwrite)
            yield path
            return
        storage = open_storage(location, self.options)
        if not overwrite and any(True for _ in storage.list()):
            raise DatasetError("exists already, not overwriting", path=location, hint="pass overwrite=True")
        with tempfile.TemporaryDirectory(prefix="roboflow-merge-") as temporary:
            yield Path(temporary)
            # an old dataset is replaced through a complete copy staged beside it, so one always exists
            publish_tree(temporary, location, last=(layout.INFO_PATH,), options=self.options)


@dataclass(frozen=True, slots=True)
class MergeResult:
    """What a merge wrote.

    Attributes:
        info: The merged dataset's ``meta/info.json``.
        shard_episodes: First episode_index of every shard, in shard order.
    """

    info: dict[str, Any]
    shard_episodes: tuple[int, ...]


def merge_datasets(
    shards: Sequence[str],
    out: str,
    *,
    format: str = "v3.0",
    limits: FileLimits | None = None,
    provenance: Mapping[str, Any] | None = None,
    io: MergeIO | None = None,
    overwrite: bool = False,
) -> MergeResult:
    """Merge ``shards`` (in this order) into a new dataset at ``out``.

    Args:
        shards: Shard locations: dataset directories as paths or storage URLs (see ``io``).
        out: Output location; an existing non-empty one is refused unless ``overwrite``.
        format: Output version, ``"v3.0"`` or ``"v2.1"``; shards may be of either version.
        limits: v3.0 file sizes and chunk size.
        provenance: Top-level fields of the output's ``meta/roboflow.json``; its ``episodes`` list holds
            every shard's own ``meta/roboflow.json`` (``{}`` if it has none) with ``episode_index`` set to
            the shard's first new episode (and ``num_episodes`` when the shard has several). Without
            ``provenance`` the file is written only if a shard has one.
        io: How locations are reached (default :class:`StorageIO` with default options).
        overwrite: Replace an existing output.

    Raises:
        DatasetError: No shards, an invalid shard, or shards that differ in fps, robot type or features
            (the message names the shard).
    """
    if not shards:
        raise DatasetError("no shards to merge", path=out)
    io = io or StorageIO()
    limits = limits or FileLimits()
    assembler: Assembler | None = None
    header: DatasetHeader | None = None
    firsts: list[int] = []
    entries: list[dict[str, Any]] = []
    carries_provenance = provenance is not None
    with io.output(out, overwrite=overwrite) as out_dir:
        try:
            for location in shards:
                with io.shard(location) as shard_dir:
                    problems = validate_dataset(shard_dir, videos=False)
                    if problems:
                        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
                        raise DatasetError(f"is not a valid dataset: {problems[0]}{more}", path=location)
                    dataset = open_dataset(shard_dir)
                    if header is None:
                        header = dataset.header
                        assembler = open_assembler(out_dir, header, format=format, limits=limits)
                    else:
                        _check_compatible(header, dataset.header, location)
                    assert assembler is not None
                    added = [assembler.add(part) for part in dataset.parts(origin=location)]
                    firsts.append(added[0])
                    entry, found = _shard_provenance(shard_dir, location)
                    carries_provenance = carries_provenance or found
                    entries.append(
                        {**entry, "episode_index": added[0]}
                        | ({"num_episodes": len(added)} if len(added) > 1 else {})
                    )
            assert assembler is not None
            document = {**(provenance or {}), "episodes": entries} if carries_provenance else None
            info = assembler.finalize(document)
        except BaseException:
            if assembler is not None:
                assembler.abort()
            raise
    return MergeResult(info, tuple(firsts))


def _check_compatible(header: DatasetHeader, other: DatasetHeader, location: str) -> None:
    if other.fps != header.fps:
        raise DatasetError(f"has fps {other.fps}, the first shard has {header.fps}", path=location)
    if other.robot_type != header.robot_type:
        raise DatasetError(
            f"has robot_type {other.robot_type!r}, the first shard has {header.robot_type!r}", path=location
        )
    if dict(other.features) != dict(header.features):
        keys = sorted(
            key
            for key in header.features.keys() | other.features.keys()
            if header.features.get(key) != other.features.get(key)
        )
        raise DatasetError(
            f"has other features than the first shard: {', '.join(keys)} differ", path=location
        )


def _shard_provenance(shard_dir: Path, location: str) -> tuple[dict[str, Any], bool]:
    path = shard_dir / PROVENANCE_PATH
    if not path.is_file():
        return {}, False
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise DatasetError(f"unreadable {PROVENANCE_PATH}: {err}", path=location) from err
    if not isinstance(document, dict):
        raise DatasetError(f"{PROVENANCE_PATH} must be a JSON object", path=location)
    return document, True
