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
for each), so it does not depend on file system order.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from roboflow import __version__
from roboflow.config.model import Config

__all__ = ["BackgroundHash", "SourceFacts", "run_provenance", "source_facts"]

_BLOCK = 1024 * 1024


@dataclass(frozen=True, slots=True)
class SourceFacts:
    """Identity of one input recording."""

    url: str
    size: int
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def source_facts(path: str | Path, stop: threading.Event | None = None) -> SourceFacts:
    """URL, total size and SHA-256 of a recording file or bag directory (read in 1 MiB blocks).

    Args:
        path: The recording.
        stop: When set, hashing stops early (the result is then meaningless).
    """
    root = Path(path)
    files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
    digest = hashlib.sha256()
    size = 0
    for file in files:
        if root.is_dir():
            digest.update(file.relative_to(root).as_posix().encode() + b"\0")
        with file.open("rb") as stream:
            while block := stream.read(_BLOCK):
                if stop is not None and stop.is_set():
                    return SourceFacts(root.absolute().as_uri(), size, "")
                digest.update(block)  # hashlib releases the GIL for large blocks
                size += len(block)
    return SourceFacts(root.absolute().as_uri(), size, digest.hexdigest())


class BackgroundHash:
    """Computes :func:`source_facts` in a thread while the recording is being converted."""

    def __init__(self, path: str | Path) -> None:
        self._path = path
        self._stop = threading.Event()
        self._result: SourceFacts | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="sha256", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._result = source_facts(self._path, self._stop)
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
