"""What a source reads from: a local path or a seekable binary stream.

Storage backends hand sources seekable readers for ``s3://`` and ``oss://`` objects. Formats whose
libraries need a real file (SQLite for rosbag2 ``.db3``, rerun-sdk for ``.rrd``) spool the stream
to a temporary file first; everything else reads the stream directly with seeks.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO

from roboflow.errors import SourceError

__all__ = ["Input", "describe", "open_binary", "spool"]

#: A recording given as a path or as a seekable binary stream.
Input = str | os.PathLike[str] | BinaryIO

_COPY_BLOCK = 1 << 20


def describe(source: Input, name: str | None = None) -> str:
    """The name errors and ``RecordingInfo.path`` use for ``source``."""
    if name is not None:
        return name
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    return str(getattr(source, "name", None) or "<stream>")


def open_binary(source: Input, name: str) -> tuple[BinaryIO, bool]:
    """Open ``source`` for reading; returns the stream and whether the caller must close it.

    Raises:
        SourceError: The path does not exist, is a directory, or the stream cannot seek.
    """
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise SourceError("no such file", path=name, hint="check the path")
        if path.is_dir():
            raise SourceError("is a directory, expected a file", path=name, hint="pass the file itself")
        try:
            return path.open("rb"), True
        except OSError as err:
            raise SourceError(f"cannot open: {err.strerror}", path=name, hint="check permissions") from err
    if not source.seekable():
        raise SourceError(
            "stream is not seekable", path=name, hint="hand sources a seekable reader (storage.open_reader)"
        )
    source.seek(0)
    return source, False


def spool(stream: BinaryIO, suffix: str, directory: str | None = None) -> Path:
    """Copy ``stream`` (from its start) into a new temporary file and return its path.

    The caller deletes the file. Used for formats whose library reads only real files.
    """
    stream.seek(0)
    handle, name = tempfile.mkstemp(prefix="roboflow-", suffix=suffix, dir=directory)
    with os.fdopen(handle, "wb") as out:
        shutil.copyfileobj(stream, out, _COPY_BLOCK)
    return Path(name)
