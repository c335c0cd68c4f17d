"""Telling a problem of the machine from a problem of a recording, and the space a run needs.

A full disk, a file grown past the file size limit (``EFBIG``), a permission refused or a read-only file system
where a run writes, or a storage circuit breaker that stayed open, surface deep inside a conversion, often
wrapped (an encoder thread's ``DatasetError`` whose text carries ``OSError(28, ...)``).
:func:`environment_problem` finds them in an error's chain so the local executor stops the run instead of
skipping recording after recording.
"""

from __future__ import annotations

import errno
import math
import resource
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from roboflow.errors import CircuitOpenError, ResourceError

__all__ = ["EnvironmentProblem", "environment_problem", "free_bytes", "gigabytes"]

_FULL = {errno.ENOSPC: "no space left on device", errno.EDQUOT: "disk quota exceeded"}
_REFUSED = {errno.EROFS: "read-only file system", errno.EACCES: "permission denied", errno.EPERM: "not permitted"}
#: A file grew past the process's file size limit (``RLIMIT_FSIZE``) or the largest file of its file system.
_TOO_LARGE = "file too large"
#: How the errors read once a library turned them into text (``repr`` of an OSError, strerror): kind, detail.
_TEXTS = {"No space left on device": ("full", _FULL[errno.ENOSPC]), "OSError(28,": ("full", _FULL[errno.ENOSPC]),
          "database or disk is full": ("full", _FULL[errno.ENOSPC]),
          "Disk quota exceeded": ("full", _FULL[errno.EDQUOT]),
          "File too large": ("limit", _TOO_LARGE), "OSError(27,": ("limit", _TOO_LARGE),
          "Read-only file system": ("refused", _REFUSED[errno.EROFS])}


@dataclass(frozen=True, slots=True)
class EnvironmentProblem:
    """What stopped a run (picklable: it crosses from a worker process).

    Attributes:
        kind: ``full`` (no space), ``limit`` (a file larger than the file size limit allows), ``refused``
            (permission, read-only) or ``unavailable`` (circuit breaker).
        path: Where it happened (the directory the run writes, or the store).
        detail: What happened, in words.
    """

    kind: str
    path: str
    detail: str

    def error(self, needed_bytes: int = 0) -> ResourceError:
        """The one-line error of the run; ``needed_bytes``: what the rest of the run is estimated to write."""
        resume = "then run the same command again: it resumes"
        if self.kind == "full":
            missing = max(needed_bytes - free_bytes(self.path), 0)
            amount = f"{gigabytes(missing)} GB" if missing else "space"
            return ResourceError(self.detail, path=self.path, hint=f"free {amount} on {_mount(self.path)}, {resume}")
        if self.kind == "limit":
            return ResourceError(self.detail, path=self.path, hint=f"{_file_size_fix()}, {resume}")
        if self.kind == "refused":
            return ResourceError(self.detail, path=self.path, hint=f"make it writable for this user, {resume}")
        return ResourceError(self.detail, path=self.path, hint=f"wait until the store is reachable, {resume}")


def environment_problem(err: BaseException, writes: Sequence[Path | str]) -> EnvironmentProblem | None:
    """The environment problem behind ``err`` (its cause chain included), or None if it is not one.

    ``writes`` are the directories the run writes (staging, output): a permission error counts only there, as
    one on a recording is a problem of that recording.
    """
    where = str(writes[0]) if writes else ""
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, CircuitOpenError):
            return EnvironmentProblem("unavailable", current.path or where, current.message)
        if isinstance(current, OSError) and current.errno in _FULL:
            return EnvironmentProblem("full", _inside(current.filename, writes) or where, _FULL[current.errno])
        if isinstance(current, OSError) and current.errno == errno.EFBIG:
            return EnvironmentProblem("limit", _inside(current.filename, writes) or where, _TOO_LARGE)
        if isinstance(current, OSError) and current.errno in _REFUSED:
            inside = _inside(current.filename, writes)
            if inside:
                return EnvironmentProblem("refused", inside, _REFUSED[current.errno])
        text = str(current)
        for needle, (kind, detail) in _TEXTS.items():
            if needle in text:
                return EnvironmentProblem(kind, where, detail)
        current = current.__cause__ or current.__context__
    return None


def _inside(filename: object, writes: Sequence[Path | str]) -> str | None:
    """The directory of ``writes`` holding ``filename`` (None: elsewhere, or no file named)."""
    if not isinstance(filename, (str, Path)):
        return None
    path = Path(filename).absolute()
    for root in writes:
        if path == Path(root) or Path(root) in path.parents:
            return str(root)
    return None


def _file_size_fix() -> str:
    """How to let a run write larger files: raise this process's limit, or use another file system."""
    soft, _ = resource.getrlimit(resource.RLIMIT_FSIZE)
    if soft == resource.RLIM_INFINITY:
        return "write to a file system that takes larger files"
    return f"raise the file size limit set by ulimit -f, now {soft} bytes"


def free_bytes(path: str | Path) -> int:
    """Free bytes on the file system of ``path`` (its nearest existing ancestor); 0 when it cannot be told."""
    probe = Path(path).absolute()
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        return shutil.disk_usage(probe).free
    except OSError:
        return 0


def _mount(path: str | Path) -> str:
    """The mount point holding ``path``."""
    probe = Path(path).absolute()
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    while not probe.is_mount() and probe != probe.parent:
        probe = probe.parent
    return str(probe)


def gigabytes(count: int) -> str:
    """``count`` bytes in GB, rounded up to a tenth (``0.1`` at least)."""
    return f"{max(math.ceil(count / 1e8) / 10, 0.1):.1f}"
