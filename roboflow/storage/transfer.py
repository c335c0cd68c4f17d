"""URL-level helpers for the rest of roboflow: open one object, copy objects, move whole trees.

Readers of recordings take any seekable binary stream (:func:`open_seekable`); formats that need a
real file (rosbag2's sqlite ``.db3``: SQLite reads through its own file layer) get one from
:func:`local_copy`, a temporary download for remote URLs and the path itself for local ones.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from roboflow.errors import StorageError
from roboflow.storage.base import Storage, StorageOptions
from roboflow.storage.coordinator import UploadConfig, UploadCoordinator, UploadProgress, UploadResult
from roboflow.storage.local import PARTIAL_MARK, LocalStorage
from roboflow.storage.location import open_storage, parse_url, split_url

__all__ = ["copy_object", "download_tree", "local_copy", "open_seekable", "upload_tree"]

_COPY_CHUNK = 1024 * 1024


def open_seekable(url: str, options: StorageOptions | None = None) -> BinaryIO:
    """A seekable binary stream of the object at ``url`` (a local file, or ranged reads of a remote one)."""
    storage, key = split_url(url, options)
    return storage.seekable_reader(key)


def copy_object(source: Storage, source_key: str, target: Storage, target_key: str) -> int:
    """Stream one object between storages; the target appears only when complete. Returns the bytes copied."""
    with source.reader(source_key) as reader, target.writer(target_key) as writer:
        shutil.copyfileobj(reader, writer, _COPY_CHUNK)
        return writer.tell()


@contextmanager
def local_copy(url: str, options: StorageOptions | None = None) -> Iterator[Path]:
    """A local path with the content of ``url``, for readers that need a real file or directory.

    A local URL yields its own path (no copy). A remote object is downloaded into a temporary directory
    (under ``TMPDIR``) under its own name; a remote prefix (a rosbag2 directory) is downloaded as a
    directory. The temporary copy is deleted when the block ends.

    Raises:
        StorageError: Nothing exists at ``url``.
    """
    location = parse_url(url)
    if location.scheme == "file":
        path = Path(location.path)
        if not path.exists():
            raise StorageError("no such file or directory", path=url, hint="check the path")
        yield path
        return
    storage, key = split_url(url, options)
    with tempfile.TemporaryDirectory(prefix="roboflow-") as temporary:
        target = Path(temporary, key)
        if storage.exists(key):
            copy_object(storage, key, LocalStorage(temporary), key)
        elif not download_tree(url, target, options=options):
            raise StorageError("no object or prefix at this URL", path=url, hint="check the URL")
        yield target


def download_tree(
    url_prefix: str, local_dir: Path | str, *, options: StorageOptions | None = None, concurrency: int = 4
) -> list[Path]:
    """Download every object under ``url_prefix`` into ``local_dir``, keeping relative keys.

    Each file appears only when complete. Returns the local paths, in key order.
    """
    source = open_storage(url_prefix, options)
    target = LocalStorage(local_dir)
    keys = [info.key for info in source.list()]
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="roboflow-download") as pool:
        for _ in pool.map(lambda key: copy_object(source, key, target, key), keys):
            pass
    return [target.path(key) for key in keys]


def upload_tree(
    local_dir: Path | str,
    url_prefix: str,
    *,
    last: Sequence[str] = ("meta/info.json",),
    options: StorageOptions | None = None,
    config: UploadConfig | None = None,
    progress: Callable[[UploadProgress], None] | None = None,
) -> list[UploadResult]:
    """Upload every file under ``local_dir`` to ``url_prefix``, the ``last`` keys at the very end.

    The files named in ``last`` (those present) are uploaded one by one, in that order, after every
    other file has completed, so a dataset whose ``meta/info.json`` is visible is complete.

    Returns:
        One result per file: the others first, then ``last``.
    """
    root = Path(local_dir)
    if not root.is_dir():
        raise StorageError("not a directory", path=str(root), hint="upload_tree uploads a directory")
    keys = sorted(
        path.relative_to(root).as_posix()
        for path in root.rglob("*")
        if path.is_file() and not path.name.startswith(PARTIAL_MARK)
    )
    final = [key for key in last if key in set(keys)]
    storage = open_storage(url_prefix, options)
    with UploadCoordinator(storage, config, progress) as coordinator:
        for key in keys:
            if key not in final:
                coordinator.submit(root / key, key)
        results = coordinator.wait()
        for key in final:
            coordinator.submit(root / key, key)
            results += coordinator.wait()
    return results
