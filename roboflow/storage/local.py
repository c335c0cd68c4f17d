"""The local filesystem backend.

Writes go to a hidden temporary file beside the target and are renamed over it on close, so a reader
never sees half a file; listings skip those temporary files. Keys are checked lexically so none escapes
the root; symlinks inside the root are followed (the user placed them), loops are listed once.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from roboflow.errors import StorageError
from roboflow.storage.base import ObjectInfo, StorageOptions, check_key, check_prefix
from roboflow.storage.location import Location
from roboflow.storage.writer import AtomicWriter

__all__ = ["LocalStorage"]

#: Marks the temporary files of writes in progress; :meth:`LocalStorage.list` skips them.
PARTIAL_MARK = ".roboflow-partial-"


class LocalStorage:
    """Files under a root directory (created on the first write).

    Args:
        root: The root directory.
    """

    def __init__(self, root: Path | str) -> None:
        self._root = Path(os.path.normpath(Path(root).expanduser().absolute()))

    @classmethod
    def from_location(cls, location: Location, options: StorageOptions) -> LocalStorage:
        """The storage at a parsed ``file`` URL (options do not apply to local files)."""
        return cls(location.path)

    @property
    def url(self) -> str:
        return str(self._root)

    @property
    def root(self) -> Path:
        """The root directory."""
        return self._root

    def path(self, key: str) -> Path:
        """The filesystem path of ``key`` (checked not to escape the root)."""
        return self._root / check_key(key, self.url)

    def reader(self, key: str) -> BinaryIO:
        return self.seekable_reader(key)

    def seekable_reader(self, key: str) -> BinaryIO:
        path = self.path(key)
        try:
            return path.open("rb")
        except OSError as err:
            raise _error(err, path, "read") from err

    def writer(self, key: str) -> LocalWriter:
        path = self.path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            return LocalWriter(path)
        except OSError as err:
            raise _error(err, path, "write") from err

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def delete(self, key: str) -> None:
        path = self.path(key)
        try:
            path.unlink(missing_ok=True)
        except OSError as err:
            raise _error(err, path, "delete") from err

    def size(self, key: str) -> int:
        path = self.path(key)
        try:
            if not path.is_file():
                raise FileNotFoundError(path)
            return path.stat().st_size
        except OSError as err:
            raise _error(err, path, "stat") from err

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        check_prefix(prefix, self.url)
        # Walk only the deepest directory the prefix names; filter the rest by string prefix.
        start = self._root / prefix.rpartition("/")[0] if "/" in prefix else self._root
        found: list[ObjectInfo] = []
        visited: set[tuple[int, int]] = set()
        for directory, subdirectories, files in os.walk(start, followlinks=True):
            identity = os.stat(directory)
            if (identity.st_dev, identity.st_ino) in visited:  # a symlink loop
                subdirectories.clear()
                continue
            visited.add((identity.st_dev, identity.st_ino))
            for name in files:
                if name.startswith(PARTIAL_MARK):
                    continue
                path = Path(directory, name)
                key = path.relative_to(self._root).as_posix()
                if key.startswith(prefix):
                    stat = path.stat()
                    found.append(ObjectInfo(key, stat.st_size, stat.st_mtime_ns))
        found.sort(key=lambda info: info.key.encode())  # the byte order S3 and OSS list in
        yield from found


class LocalWriter(AtomicWriter):
    """Writes a hidden temporary file beside ``path`` and renames it over ``path`` on close."""

    def __init__(self, path: Path) -> None:
        super().__init__(str(path))
        self._path = path
        self._partial = path.with_name(f"{PARTIAL_MARK}{uuid.uuid4().hex}-{path.name}")
        self._file = self._partial.open("xb")

    def _write(self, data: memoryview) -> None:
        try:
            self._file.write(data)
        except OSError as err:
            raise _error(err, self._path, "write") from err

    def _commit(self) -> None:
        try:
            self._file.close()
            os.replace(self._partial, self._path)
        except OSError as err:
            raise _error(err, self._path, "write") from err

    def _discard(self) -> None:
        self._file.close()
        self._partial.unlink(missing_ok=True)


def _error(err: OSError, path: Path, operation: str) -> StorageError:
    if isinstance(err, FileNotFoundError):
        return StorageError("no such file", path=str(path), hint="check the path")
    if isinstance(err, IsADirectoryError):
        return StorageError("is a directory, not a file", path=str(path))
    if isinstance(err, PermissionError):
        return StorageError(f"permission denied ({operation})", path=str(path), hint="check file permissions")
    return StorageError(f"cannot {operation}: {err.strerror or err}", path=str(path))
