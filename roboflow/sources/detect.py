"""Which format a recording is, by content (magic bytes, directory shape) before suffix.

:data:`FORMATS` maps a format name to its Source class as a lazy ``"module:Class"`` string, so
opening an MCAP file never imports rerun-sdk.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Callable
from pathlib import Path

from roboflow.errors import SourceError
from roboflow.sources.base import Source
from roboflow.sources.streams import Input, describe

__all__ = ["FORMATS", "detect_format", "find_recordings", "is_rosbag2_dir", "source_class"]

#: format name -> "module:Class" of its Source.
FORMATS: dict[str, str] = {
    "mcap": "roboflow.sources.mcap:McapSource",
    "ros1bag": "roboflow.sources.ros1:Ros1BagSource",
    "rosbag2": "roboflow.sources.rosbag2:Rosbag2Source",
    "rrd": "roboflow.sources.rrd:RrdSource",
}

_MAGICS: tuple[tuple[bytes, str], ...] = (
    (b"\x89MCAP", "mcap"),
    (b"#ROSBAG V", "ros1bag"),
    (b"SQLite format 3\x00", "rosbag2"),  # a single rosbag2 .db3 storage file
    (b"\x28\xb5\x2f\xfd", "rosbag2"),  # a file-level zstd rosbag2 storage file
    (b"RRF", "rrd"),
    (b"RRIS", "rrd"),
)
_SUFFIXES = {".mcap": "mcap", ".bag": "ros1bag", ".db3": "rosbag2", ".zstd": "rosbag2", ".rrd": "rrd"}
_SPLIT = re.compile(r"^(?P<prefix>.+)_(?P<index>\d+)\.mcap$")
_FORMATS_HINT = "roboflow reads MCAP, ROS1 bags (v2.0), rosbag2 directories (.db3/.mcap) and Rerun .rrd"


def source_class(format_name: str) -> Callable[..., Source]:
    """The Source class registered for ``format_name``.

    Raises:
        SourceError: Unknown format name (the message lists the known ones).
    """
    try:
        module_name, class_name = FORMATS[format_name].split(":")
    except KeyError:
        raise SourceError(f"unknown recording format {format_name!r}", hint=f"known: {', '.join(FORMATS)}") from None
    cls: Callable[..., Source] = getattr(importlib.import_module(module_name), class_name)
    return cls


def is_rosbag2_dir(directory: Path) -> bool:
    """Whether ``directory`` is one rosbag2 bag.

    True with a ``metadata.yaml``, with SQLite storage files, or with MCAP files named like the
    split files of one bag (``name_0.mcap``, ``name_1.mcap``, ... with one common name).
    """
    if not directory.is_dir():
        return False
    if (directory / "metadata.yaml").is_file():
        return True
    names = [path.name for path in directory.iterdir() if path.is_file()]
    if any(name.endswith((".db3", ".db3.zstd")) for name in names):
        return True
    mcaps = [name for name in names if name.endswith(".mcap")]
    splits = [_SPLIT.match(name) for name in mcaps]
    if len(mcaps) < 2 or not all(splits):
        return False
    prefixes = {match["prefix"] for match in splits if match}
    indices = sorted(int(match["index"]) for match in splits if match)
    return len(prefixes) == 1 and indices == list(range(len(indices)))


def _head(source: Input, name: str) -> bytes:
    if isinstance(source, (str, os.PathLike)):
        try:
            with open(source, "rb") as stream:
                return stream.read(16)
        except FileNotFoundError:
            raise SourceError("no such file or directory", path=name, hint="check the path") from None
        except OSError as err:
            raise SourceError(f"cannot open: {err.strerror}", path=name, hint="check permissions") from err
    source.seek(0)
    head = source.read(16)
    source.seek(0)
    return head


def detect_format(source: Input, *, name: str | None = None) -> str:
    """The format name of ``source`` (a key of :data:`FORMATS`).

    Raises:
        SourceError: Missing, empty, a directory that is not a bag, or unrecognised content.
    """
    label = describe(source, name)
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if path.is_dir():
            if is_rosbag2_dir(path):
                return "rosbag2"
            raise SourceError("directory is not a rosbag2 bag (no metadata.yaml or storage files)", path=label,
                              hint="pass a recording file or a bag directory; `roboflow inspect DIR` searches directories")
        if path.name == "metadata.yaml":
            return "rosbag2"
    head = _head(source, label)
    if not head:
        raise SourceError("file is empty (0 bytes)", path=label,
                          hint="the recording was never written or the copy failed; re-copy it")
    for magic, format_name in _MAGICS:
        if head.startswith(magic):
            return format_name
    suffix = Path(label).suffix.lower()
    if suffix in _SUFFIXES:
        return _SUFFIXES[suffix]  # its source reports what is wrong with the content
    raise SourceError(f"unrecognised recording format (starts with {head[:8]!r})", path=label, hint=_FORMATS_HINT)


def find_recordings(root: Path) -> list[Path]:
    """Recordings under ``root``: itself if it is one, else every recording file and bag directory below it."""
    if root.is_file() or is_rosbag2_dir(root):
        return [root]
    found: list[Path] = []
    for child in sorted(root.iterdir()):
        if child.is_dir():
            found.extend(find_recordings(child))
        elif child.suffix.lower() in (".mcap", ".bag", ".rrd") or _has_magic(child):
            found.append(child)
    return found


def _has_magic(path: Path) -> bool:
    try:
        with path.open("rb") as stream:
            head = stream.read(16)
    except OSError:
        return False
    return any(head.startswith(magic) for magic, _ in _MAGICS)
