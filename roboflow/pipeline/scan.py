"""The scan stage: command-line inputs -> the sorted list of recordings to convert (work items).

An input is a recording file, a directory or a glob, locally or at a storage URL. A rosbag2 bag directory
(``metadata.yaml``, ``.db3`` storage files, or split ``name_N.mcap`` files) counts as one recording; any other
directory is searched recursively (:func:`roboflow.sources.find_recordings`; for ``s3://`` and
``oss://`` prefixes :func:`roboflow.pipeline.listing.remote_recordings`). Recordings are ordered by URL (a
local one by its absolute path), which is the order of the dataset's episodes.
"""

from __future__ import annotations

import glob
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from roboflow.errors import UserError
from roboflow.pipeline.listing import GLOB_CHARS, remote_recordings
from roboflow.sources import find_recordings
from roboflow.storage import StorageOptions, parse_url

__all__ = ["WorkItem", "scan"]

_HINT = "recordings are .mcap, .bag and .rrd files and rosbag2 directories"


@dataclass(frozen=True, slots=True)
class WorkItem:
    """One recording to convert.

    Attributes:
        index: Position in the sorted inputs (the order of its episodes in the dataset).
        url: The recording: a local path (file or bag directory) or a storage URL (object or bag prefix).
        key: Deterministic name of its shard, unique within a run.
    """

    index: int
    url: str
    key: str


def scan(inputs: Sequence[str], options: StorageOptions | None = None) -> list[WorkItem]:
    """Find the recordings named by ``inputs``, sorted by URL, without duplicates.

    Args:
        inputs: Local paths, ``file://``, ``s3://`` or ``oss://`` URLs, or globs of either.
        options: Storage options for remote inputs (default: from the environment).

    Raises:
        UserError: An input does not exist or matches nothing, or no recording was found at all.
        StorageError: A remote input cannot be listed (the message says why).
    """
    found: set[str] = set()
    for text in inputs:
        if "://" in text and not text.lower().startswith("file://"):
            recordings = remote_recordings(text, options)
            if not recordings:
                raise UserError("no recordings at this URL (no such object, prefix or glob match)", path=text,
                                hint=_HINT)
        else:
            local = parse_url(text).path if "://" in text else text
            paths = _expand(local)
            recordings = [str(r.absolute()) for path in paths for r in find_recordings(path)]
            if not recordings:
                raise UserError("no recordings here" if paths else "no such file, directory or glob match",
                                path=text, hint=_HINT)
        found.update(recordings)
    ordered = sorted(found)
    return [WorkItem(index=i, url=url, key=_key(i, url)) for i, url in enumerate(ordered)]


def _expand(text: str) -> list[Path]:
    if GLOB_CHARS & set(text) and not Path(text).exists():
        return [Path(p).absolute() for p in sorted(glob.glob(text, recursive=True))]
    path = Path(text)
    return [path.absolute()] if path.exists() else []


def _key(index: int, url: str) -> str:
    digest = hashlib.sha1(url.encode()).hexdigest()[:8]
    name = PurePosixPath(url.split("://", 1)[-1]).name
    stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:40]
    return f"{index:06d}-{stem}-{digest}"
