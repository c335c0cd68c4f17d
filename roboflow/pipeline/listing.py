"""Recordings under a remote storage URL (``s3://``, ``oss://``), found from one recursive key listing.

Keys are grouped into "directories" at ``/`` as local files are: a directory holding ``metadata.yaml``,
``.db3`` storage files or the split files of one bag (``name_0.mcap``, ``name_1.mcap``, ...) is one rosbag2
recording (its URL ends without ``/``); elsewhere an object is a recording when its key ends in ``.mcap``,
``.bag`` or ``.rrd`` (telling other objects by content would cost a request each). A URL naming one object is that
recording whatever its name (``.../metadata.yaml`` names its bag directory). A glob (``*``, ``?``, ``[...]``
within a key segment, ``**`` across segments) matches keys and directories; a matched directory is searched, a
matched object is a recording, and objects inside a bag directory that was found are part of it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from roboflow.storage import StorageOptions, open_storage, parse_url

__all__ = ["GLOB_CHARS", "remote_recordings"]

GLOB_CHARS = frozenset("*?[")
_SUFFIXES = (".mcap", ".bag", ".rrd")
_STORAGE_SUFFIXES = (".db3", ".db3.zstd")
_SPLIT = re.compile(r"^(?P<prefix>.+)_(?P<index>\d+)\.mcap$")


@dataclass(slots=True)
class _Dir:
    files: set[str] = field(default_factory=set)
    dirs: dict[str, _Dir] = field(default_factory=dict)


def remote_recordings(url: str, options: StorageOptions | None = None) -> list[str]:
    """URLs of the recordings ``url`` names: an object, a prefix searched recursively, or a glob.

    Returns an empty list when nothing matches.

    Raises:
        StorageError: The URL is malformed or the store refuses the listing (no such bucket, access denied).
    """
    location = parse_url(url)
    base = f"{location.scheme}://{location.bucket}"
    bucket = open_storage(base, options)
    segments = location.path.split("/") if location.path else []
    static = next((i for i, segment in enumerate(segments) if GLOB_CHARS & set(segment)), None)
    if static is None:
        path = location.path
        keys = [info.key for info in bucket.list(f"{path}/" if path else "")]
        if keys:
            return [_join(base, found) for found in _search(_tree(keys), path)]
        if path and bucket.exists(path):
            name = PurePosixPath(path)
            return [_join(base, str(name.parent) if name.name == "metadata.yaml" else path)]
        return []
    prefix = "/".join(segments[:static])
    keys = [info.key for info in bucket.list(f"{prefix}/" if prefix else "")]
    pattern = _glob_regex(location.path)
    root = _tree(keys)
    found: set[str] = set()
    for candidate, is_dir in _candidates(keys):
        if pattern.fullmatch(candidate):
            found.update(_search(root, candidate) if is_dir else [candidate])
    bags = {path for path in found if _is_bag(_find(root, path))}
    inside = {path for path in found if any(path.startswith(f"{bag}/") for bag in bags)}
    return [_join(base, path) for path in sorted(found - inside)]


def _join(base: str, path: str) -> str:
    return f"{base}/{path}" if path else base


def _tree(keys: Iterable[str]) -> _Dir:
    root = _Dir()
    for key in keys:
        *parents, name = key.split("/")
        node = root
        for part in parents:
            node = node.dirs.setdefault(part, _Dir())
        node.files.add(name)
    return root


def _find(root: _Dir, path: str) -> _Dir | None:
    node: _Dir | None = root
    for part in path.split("/") if path else []:
        node = node.dirs.get(part) if node is not None else None
    return node


def _search(root: _Dir, path: str) -> list[str]:
    """Recordings at or below the directory ``path`` (a bag directory is one)."""
    node = _find(root, path)
    if node is None:
        return []
    if _is_bag(node):
        return [path]
    found = [f"{path}/{name}" if path else name for name in node.files if name.lower().endswith(_SUFFIXES)]
    for name in sorted(node.dirs):
        found.extend(_search(root, f"{path}/{name}" if path else name))
    return found


def _is_bag(node: _Dir | None) -> bool:
    """The rosbag2 directory test of :func:`roboflow.sources.is_rosbag2_dir`, on a listing's names."""
    if node is None:
        return False
    if "metadata.yaml" in node.files or any(name.endswith(_STORAGE_SUFFIXES) for name in node.files):
        return True
    splits = [_SPLIT.match(name) for name in node.files if name.endswith(".mcap")]
    if len(splits) < 2 or not all(splits):
        return False
    prefixes = {match["prefix"] for match in splits if match}
    indices = sorted(int(match["index"]) for match in splits if match)
    return len(prefixes) == 1 and indices == list(range(len(indices)))


def _candidates(keys: Iterable[str]) -> list[tuple[str, bool]]:
    """Every key (False) and every directory above one (True), once each."""
    out: dict[str, bool] = {}
    for key in keys:
        parts = key.split("/")
        for depth in range(1, len(parts)):
            out.setdefault("/".join(parts[:depth]), True)
        out[key] = False
    return list(out.items())


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """A glob over ``/``-separated keys as a regex (hand-written: ``glob.translate`` is Python 3.13+)."""
    segments = pattern.split("/")
    out: list[str] = []
    for number, segment in enumerate(segments):
        last = number == len(segments) - 1
        if segment == "**":
            out.append(".*" if last else "(?:[^/]+/)*")
            continue
        out.append(_segment_regex(segment) + ("" if last else "/"))
    return re.compile("".join(out))


def _segment_regex(segment: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(segment):
        char = segment[i]
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[" and (end := segment.find("]", i + 2)) != -1:
            body = segment[i + 1 : end]
            out.append("[" + ("^" + body[1:] if body.startswith("!") else body).replace("\\", "\\\\") + "]")
            i = end
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)
