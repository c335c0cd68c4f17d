"""Provenance of a converted dataset: ``meta/roboflow.json`` (lerobot ignores the file).

The document records what produced the dataset so it can be reproduced and audited::

    {
      "roboflow_version": "0.1.0",
      "created_at": "2026-01-02T03:04:05Z",
      "format": "v3.0",
      "config": {"path": "demo.toml", "sha256": "...", "text": "..."},
      "recordings": {"converted": 3, "skipped": [{"source": "...", "error": "..."}]},
      "episodes": [   # one entry per recording (shard), written by the converter, placed by the merge
        {"episode_index": 0, "num_episodes": 2,
         "source": {"url": "file:///data/a.mcap", "size": 123, "sha256": "...", "format": "mcap"},
         "alignment": [{"frames_written": 600, ...}, ...]}
      ]
    }

The SHA-256 of a bag directory is taken over its files in name order (``relative path``, NUL, ``content``
for each), so it does not depend on file system order. It is computed while the recording is converted: a
local file or directory by a thread reading it beside the converter (:class:`BackgroundHash`), a remote object
from the ranges the converter's reader fetches anyway (:class:`StreamHash`), so it is not downloaded twice.
Remote URLs (``s3://bucket/key``) never carry credentials.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from roboflow import __version__
from roboflow.config.model import Config
from roboflow.storage.ranged import RangedReader

__all__ = ["BackgroundHash", "SourceFacts", "SourceHash", "StreamHash", "run_provenance", "source_facts"]

_BLOCK = 1024 * 1024


@dataclass(frozen=True, slots=True)
class SourceFacts:
    """Identity of one input recording."""

    url: str
    size: int
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class SourceHash(Protocol):
    """A hash being computed while a recording is converted."""

    def result(self) -> SourceFacts:
        """The facts, once the whole recording has been hashed (waiting or reading what is missing)."""
        ...

    def cancel(self) -> None:
        """Stop hashing (idempotent)."""
        ...


def source_facts(
    path: str | Path, stop: threading.Event | None = None, *, url: str | None = None
) -> SourceFacts:
    """URL, total size and SHA-256 of a recording file or bag directory (read in 1 MiB blocks).

    Args:
        path: The recording.
        stop: When set, hashing stops early (the result is then meaningless).
        url: The URL to record (a local copy's origin); default: ``path`` as a ``file://`` URL.
    """
    root = Path(path)
    url = url or root.absolute().as_uri()
    files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
    digest = hashlib.sha256()
    size = 0
    for file in files:
        if root.is_dir():
            digest.update(file.relative_to(root).as_posix().encode() + b"\0")
        with file.open("rb") as stream:
            while block := stream.read(_BLOCK):
                if stop is not None and stop.is_set():
                    return SourceFacts(url, size, "")
                digest.update(block)  # hashlib releases the GIL for large blocks
                size += len(block)
    return SourceFacts(url, size, digest.hexdigest())


class BackgroundHash:
    """Computes :func:`source_facts` in a thread while the recording is being converted.

    Args:
        path: The local recording (file or bag directory).
        url: The URL to record, when ``path`` is a local copy of a remote recording.
    """

    def __init__(self, path: str | Path, *, url: str | None = None) -> None:
        self._path = path
        self._url = url
        self._stop = threading.Event()
        self._result: SourceFacts | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="sha256", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._result = source_facts(self._path, self._stop, url=self._url)
        except BaseException as err:  # re-raised in result()  # noqa: BLE001
            self._error = err

    def result(self) -> SourceFacts:
        """Wait for the hash.

        Raises:
            OSError: The recording could not be read.
        """
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result

    def cancel(self) -> None:
        self._stop.set()
        self._thread.join()


class StreamHash:
    """SHA-256 of a remote object, from the blocks its ranged reader serves to the format reader.

    A block is hashed when it is served in order (the one starting where the hash stands). Blocks the format
    reader never touched in order (skipped by its index, or read before their turn such as a summary at the
    end) are read by :meth:`result`, so the object is fetched about once in all, not once more for the hash.

    Args:
        url: The object's URL, recorded as is.
        reader: The reader the recording is read through (not yet read from).
    """

    def __init__(self, url: str, reader: RangedReader) -> None:
        self._url = url
        self._reader = reader
        self._digest = hashlib.sha256()
        self._hashed = 0
        reader.observe(self._block)

    def _block(self, start: int, block: bytes) -> None:
        if start == self._hashed:
            self._digest.update(block)
            self._hashed += len(block)

    def result(self) -> SourceFacts:
        """The facts; reads the blocks not hashed yet (call it before the reader is closed)."""
        position = self._reader.tell()
        size = self._reader.size
        while self._hashed < size:
            before = self._hashed
            self._reader.seek(before)
            self._reader.read(1)  # serves the whole block starting there to _block
            if self._hashed == before:
                raise RuntimeError(f"the reader of {self._url} served no block at byte {before}")
        self._reader.seek(position)
        return SourceFacts(self._url, size, self._digest.hexdigest())

    def cancel(self) -> None:
        """Nothing runs in the background: hashing happens in the reads."""


def run_provenance(config: Config, *, format: str, converted: int,
                   skipped: Sequence[Mapping[str, str]]) -> dict[str, Any]:
    """The top-level fields of ``meta/roboflow.json`` for a run (the merge adds ``episodes``)."""
    return {
        "roboflow_version": __version__,
        "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "format": format,
        "config": {"path": config.origin, "sha256": config.sha256, "text": config.text},
        "recordings": {"converted": converted, "skipped": [dict(s) for s in skipped]},
    }
