"""The scan stage: command-line inputs -> the sorted list of recordings to convert (work items).

An input is a recording file, a directory or a glob. A rosbag2 bag directory (``metadata.yaml``, ``.db3``
storage files, or split ``name_N.mcap`` files) counts as one recording; any other directory is searched
recursively (:func:`roboflow.sources.find_recordings`). Recordings are ordered by absolute path, which is the
order of the dataset's episodes.
"""

from __future__ import annotations

import glob
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from roboflow.errors import UserError
from roboflow.sources import find_recordings

__all__ = ["WorkItem", "scan"]

_GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True, slots=True)
class WorkItem:
    """One recording to convert.

    Attributes:
        index: Position in the sorted inputs (the order of its episodes in the dataset).
        url: The recording: a local path (file or bag directory).
        key: Deterministic name of its shard, unique within a run.
    """

    index: int
    url: str
    key: str


def scan(inputs: Sequence[str]) -> list[WorkItem]:
    """Find the recordings named by ``inputs``, sorted by path, without duplicates.

    Raises:
        UserError: An input does not exist or matches nothing, or no recording was found at all.
    """
    found: set[Path] = set()
    for text in inputs:
        paths = _expand(text)
        recordings = [r.absolute() for path in paths for r in find_recordings(path)]
        if not recordings:
            raise UserError("no recordings here" if paths else "no such file, directory or glob match",
                            path=text, hint="recordings are .mcap, .bag and .rrd files and rosbag2 directories")
        found.update(recordings)
    ordered = sorted(found, key=lambda p: str(p))
    return [WorkItem(index=i, url=str(path), key=_key(i, path)) for i, path in enumerate(ordered)]


def _expand(text: str) -> list[Path]:
    if _GLOB_CHARS & set(text) and not Path(text).exists():
        return [Path(p).absolute() for p in sorted(glob.glob(text, recursive=True))]
    path = Path(text)
    return [path.absolute()] if path.exists() else []


def _key(index: int, path: Path) -> str:
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:8]
    stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in path.name)[:40]
    return f"{index:06d}-{stem}-{digest}"
