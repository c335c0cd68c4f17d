"""Check a LeRobot dataset (v3.0 or v2.1) against every invariant of the format.

``validate_dataset(path)`` returns the list of problems found; an empty list means the dataset is valid.
The version is read from ``meta/info.json``; the per-version checks live in :mod:`validate_v30` and
:mod:`validate_v21`. Videos are checked from their packet timestamps (no decoding); ``videos=False``
skips opening them (file presence is still checked).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from roboflow.lerobot.validate_common import Problem, check_features

__all__ = ["Problem", "validate_dataset"]

INFO_PATH = "meta/info.json"

_INT_FIELDS = ("total_episodes", "total_frames", "total_tasks", "chunks_size", "fps")
_VERSION_INT_FIELDS = {"v2.1": ("total_videos", "total_chunks"), "v3.0": ()}
_VERSION_SIZE_FIELDS = {"v2.1": (), "v3.0": ("data_files_size_in_mb", "video_files_size_in_mb")}
_PATH_KEYS = {
    "v2.1": {"episode_chunk": 0, "episode_index": 0, "video_key": "k"},
    "v3.0": {"chunk_index": 0, "file_index": 0, "video_key": "k"},
}


def validate_dataset(path: str | Path, *, videos: bool = True) -> list[Problem]:
    """Check the dataset at ``path``.

    Args:
        path: Dataset root (the directory holding ``meta/``).
        videos: Open every video and check its frame count and timestamps; False checks presence only.

    Returns:
        Every problem found, in a stable order; empty when the dataset is valid.
    """
    root = Path(path)
    if not root.is_dir():
        return [Problem(str(root), "not a directory")]
    info_file = root / INFO_PATH
    if not info_file.is_file():
        return [
            Problem(INFO_PATH, "missing (the dataset was never finalised, or this is not a LeRobot dataset)")
        ]
    try:
        info = json.loads(info_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        return [Problem(INFO_PATH, f"unreadable: {err}")]
    if not isinstance(info, dict):
        return [Problem(INFO_PATH, "must be a JSON object")]
    version = info.get("codebase_version")
    if version not in _VERSION_INT_FIELDS:
        return [Problem(INFO_PATH, f"codebase_version {version!r} is not supported (v2.1 or v3.0)")]
    problems = check_info(info, version)
    if problems:
        return problems
    if version == "v3.0":
        from roboflow.lerobot.validate_v30 import validate_v30

        return validate_v30(root, info, videos=videos)
    from roboflow.lerobot.validate_v21 import validate_v21

    return validate_v21(root, info, videos=videos)


def check_info(info: dict[str, Any], version: str) -> list[Problem]:
    """Check the fields of info.json; later checks rely on these, so any problem here stops validation."""
    problems: list[Problem] = []

    def bad(message: str) -> None:
        problems.append(Problem(INFO_PATH, message))

    for field in _INT_FIELDS + _VERSION_INT_FIELDS[version]:
        value = info.get(field)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            bad(f"{field} must be a non-negative integer, found {value!r}")
    for field in ("chunks_size", "fps"):
        if info.get(field) == 0:
            bad(f"{field} must be positive")
    for field in _VERSION_SIZE_FIELDS[version]:
        value = info.get(field)
        if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
            bad(f"{field} must be a positive number, found {value!r}")
    if not (info.get("robot_type") is None or isinstance(info.get("robot_type"), str)):
        bad("robot_type must be a string or null")
    if problems:
        return problems
    if info.get("splits") != {"train": f"0:{info['total_episodes']}"}:
        bad(f"splits must be {{'train': '0:{info['total_episodes']}'}}, found {info.get('splits')!r}")
    problems.extend(check_features(info.get("features"), info["fps"]))
    if problems:
        return problems
    has_video = any(f.get("dtype") == "video" for f in info["features"].values())
    for field, required in (("data_path", True), ("video_path", has_video)):
        template = info.get(field)
        if template is None and not required:
            continue
        if not isinstance(template, str):
            bad(f"{field} must be a path template, found {template!r}")
            continue
        try:
            template.format(**_PATH_KEYS[version])
        except (KeyError, IndexError, ValueError) as err:
            bad(f"{field} {template!r} does not fit the {version} layout ({err})")
    if version == "v2.1":
        cameras = sum(1 for f in info["features"].values() if f.get("dtype") == "video")
        if info["total_videos"] != info["total_episodes"] * cameras:
            bad(
                f"total_videos is {info['total_videos']}, expected episodes x cameras = "
                f"{info['total_episodes'] * cameras}"
            )
        chunks = -(-info["total_episodes"] // info["chunks_size"])
        if info["total_chunks"] != chunks:
            bad(f"total_chunks is {info['total_chunks']}, expected {chunks}")
    return problems
