"""Where a local run stages its shards, the lock that makes it one run per output, and leftovers beside it.

A run's staging is ``<staging>/<run id>/`` with ``<staging>`` the fleet's default, a hidden sibling of the output
(``/data/.out.staging``), or for a remote output a directory in ``TMPDIR`` (shards are written locally either way).
The run id is derived from the output, so the next run for the same output finds what a killed one staged.
The directory holds the run's SQLite state (unless ``ROBOFLOW_STATE_URL`` names another store), the shards,
and ``lock``, held with ``flock`` while the run lives: the kernel drops it when the process dies, so a run
that finds the lock free knows the earlier one is gone.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import shutil
import tempfile
from pathlib import Path
from typing import IO

from roboflow.errors import RoboflowError, UserError
from roboflow.fleet.batch import default_staging
from roboflow.pipeline.environment import gigabytes
from roboflow.storage import StorageOptions, open_storage, parse_url
from roboflow.storage.remote import RemoteStorage

__all__ = ["KEPT", "RunLock", "clear", "output_url", "run_id", "staging_base", "stale_staging", "tree_bytes"]

log = logging.getLogger(__name__)

#: Files of the run's staging directory that outlive a ``--restart`` (the lock and the state store).
KEPT = frozenset({"lock", "state.db", "state.db-wal", "state.db-shm"})


def output_url(out: str | Path) -> str:
    """The output as one string: an absolute path for a local output, the URL for a remote one."""
    location = parse_url(str(out))
    return str(Path(location.path).absolute()) if location.scheme == "file" else str(out).rstrip("/")


def run_id(url: str) -> str:
    """The id of the local run writing ``url`` (a batch id in the state store)."""
    return f"local-{hashlib.sha1(url.encode()).hexdigest()[:16]}"


def staging_base(url: str) -> Path:
    """The directory holding the staging of runs writing ``url``."""
    if parse_url(url).scheme == "file":
        return Path(default_staging(url))
    return Path(tempfile.gettempdir()) / "roboflow-staging"


class RunLock:
    """``flock`` on ``<root>/lock``: one run per output at a time; released when the process ends, however."""

    def __init__(self, root: Path, out: str) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self._file: IO[str] | None = (root / "lock").open("a+")
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as err:
            self._file.close()
            self._file = None
            raise UserError("another roboflow convert is writing this output", path=out,
                            hint="wait for it to end, or choose another output") from err

    def release(self) -> None:
        """Idempotent."""
        if self._file is not None:
            self._file.close()
            self._file = None


def clear(root: Path) -> None:
    """Remove what a run staged in ``root`` (its shards), keeping the lock and the state store."""
    for child in root.iterdir() if root.is_dir() else ():
        if child.name not in KEPT:
            shutil.rmtree(child) if child.is_dir() else child.unlink()


def tree_bytes(path: Path) -> int:
    """Bytes of the files under ``path``."""
    return sum(entry.stat().st_size for entry in path.rglob("*") if entry.is_file()) if path.is_dir() else 0


def stale_staging(url: str, options: StorageOptions | None = None) -> list[str]:
    """Lines about what killed runs left (none when nothing was found).

    Staging of *other* outputs beside a local output (``.X.staging``), or under a remote output's parent prefix
    and in the local staging of remote outputs, is reported in one line: a run of those outputs resumes from it.
    What a killed merge of this output left (``.<name>.partial-*``, ``.<name>.old-*``) and the multipart uploads
    a killed publish left unfinished under a remote output are removed: nothing resumes from those.
    """
    location = parse_url(url)
    lines = []
    if location.scheme == "file":
        out = Path(url)
        lines += _others_line(str(out.parent), *_local_others(out))
    else:
        storage = open_storage(url, options)
        if isinstance(storage, RemoteStorage) and (aborted := _abort_uploads(storage)):
            lines.append(f"aborted {aborted} unfinished upload(s) under {url} left by an interrupted run")
        found: dict[str, int] = {}
        for info in open_storage(location.parent.url, options).list("."):
            top = info.key.split("/", 1)[0]
            if top.endswith(".staging") and top != f".{location.name}.staging":
                found[top] = found.get(top, 0) + info.size
        lines += _others_line(location.parent.url, sorted(found), sum(found.values()))
        mine = staging_base(url)
        local = sorted(p for p in mine.iterdir() if p.name != run_id(url)) if mine.is_dir() else []
        lines += _others_line(str(mine), [p.name for p in local], sum(tree_bytes(p) for p in local))
    return lines


def _others_line(where: str, others: list[str], size: int) -> list[str]:
    """The warning about staging of other outputs found in ``where`` (none when there is none)."""
    if not others:
        return []
    names = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
    return [(f"warning: {where} holds staging of other outputs ({names}, {gigabytes(size)} GB): a run of those "
             "outputs resumes from it; delete it if none will")]


def _abort_uploads(storage: RemoteStorage) -> int:
    """Housekeeping, never a reason to stop: a store that cannot list uploads is logged and left alone."""
    try:
        return storage.abort_pending_uploads()
    except RoboflowError as err:
        log.warning("could not abort unfinished uploads under %s: %s", storage.url, err)
        return 0


def _local_others(out: Path) -> tuple[list[str], int]:
    if not out.parent.is_dir():
        return [], 0
    others = []
    for entry in sorted(out.parent.iterdir()):
        if entry.name.startswith((f".{out.name}.partial-", f".{out.name}.old-", f".{out.name}.staging-")):
            shutil.rmtree(entry, ignore_errors=True)
        elif entry.name.startswith(".") and ".staging" in entry.name and entry.name != f".{out.name}.staging":
            others.append(entry)
    return [entry.name for entry in others], sum(tree_bytes(entry) for entry in others)
