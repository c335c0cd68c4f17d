"""A commented starter config for a recording (``roboflow init-config``), from what ``inspect`` sees.

Cameras (video topics too) become image mappings, the most likely JointState topic (else a JSON or protobuf
numeric topic named like a state) the state, and a commanded-joint or action topic
(its name says command, cmd, action, target, goal or desired) the action. Depth cameras and other numeric topics are
listed as commented-out mappings. The text is valid TOML that :func:`~roboflow.config.parse_config` accepts.
"""

from __future__ import annotations

import json
import re
from collections import Counter

from roboflow.features.types import (
    DEPTH_ENCODINGS,
    default_fields,
    image_kind,
    is_joint_state,
    normalise_type,
)
from roboflow.sources.base import RecordingInfo, TopicInfo

__all__ = ["starter_config"]

_ACTION_WORDS = re.compile(r"command|cmd|action|target|goal|desired|setpoint", re.IGNORECASE)
_STATE_WORDS = re.compile(r"state|joint|position|pose|observation", re.IGNORECASE)
_MAX_LISTED = 8
_GENERIC = {"image", "image_raw", "compressed", "data", "color", "rgb", "raw", "image_color", "image_rect",
            "image_rect_color", "camera", "cameras", "sensor_msgs", "compresseddepth", "video", "ffmpeg", "h264",
            "h265", "hevc"}


def starter_config(info: RecordingInfo, *, fps: int | None = None, name: str | None = None) -> str:
    """The starter config text for ``info``."""
    cameras = [t for t in info.topics if image_kind(t.type) is not None and not _is_depth(t)]
    depths = [t for t in info.topics if image_kind(t.type) is not None and _is_depth(t)]
    joints = [t for t in info.topics if is_joint_state(t.type)]
    vectors = [t for t in info.topics if image_kind(t.type) is None and _vector_type(t)]
    state = _pick_state(joints, vectors)
    action = _pick_action(vectors, state)
    rate = fps or _camera_rate(cameras) or 30
    dataset_name = name or re.sub(r"[^A-Za-z0-9_-]+", "_", info.path.rstrip("/").split("/")[-1].split(".")[0])
    out = [
        f"# Starter config for {info.path}",
        f"# ({info.format}, {info.duration_s:.1f} s, {len(info.topics)} topics). Edit, then run:",
        f"#   roboflow convert {info.path} -c THIS_FILE -o OUT_DIR",
        "# Every key is described in docs/convert.md.",
        "",
        "[dataset]",
        f"name = {_q(dataset_name or 'dataset')}",
        f"fps = {rate}                      # frames per second of the dataset timeline",
        'robot_type = "unknown"',
        'task = "describe the task"      # or task_topic = "/task" (std_msgs/String)',
        '# format = "v3.0"              # or "v2.1" for lerobot 0.3.x',
        '# time = "log"                 # "header" to place messages by header.stamp',
        "",
    ]
    names = _feature_names(cameras)
    for topic, feature in zip(cameras, names, strict=True):
        out += _mapping(topic, feature, "image", _image_note(topic))
    for topic in depths:
        out += _commented(_mapping(topic, f"observation.images.{_camera_name(topic.topic)}", "image",
                                   "depth: stored as 8-bit gray, value/depth_max*255",
                                   extra=["depth_max = 4000.0"]))
    if state is not None:
        out += _mapping(state, "observation.state", "state", _rate_note(state), policy="hold")
    if action is not None:
        out += _mapping(action, "action", "action", _rate_note(action), policy="hold")
    if state is None and action is None:
        out += ["# No JointState or action topic recognised: map vectors like this (see docs/convert.md):", ""]
        out += _commented(["[[mappings]]", 'topic = "/joint_states"', 'feature = "observation.state"',
                           'mapping_type = "state"', ""])
    others = [t for t in vectors if t is not state and t is not action]
    if others:
        out.append("# Other numeric topics; uncomment to add them (field selects values, see docs/convert.md):")
        for topic in others[:_MAX_LISTED]:
            feature = "observation." + re.sub(r"[^A-Za-z0-9_]+", "_", topic.topic.strip("/")).lower()
            out += _commented(_mapping(topic, feature, "state", _rate_note(topic)))
        if len(others) > _MAX_LISTED:
            out += [f"# ... and {len(others) - _MAX_LISTED} more: "
                    + ", ".join(t.topic for t in others[_MAX_LISTED:_MAX_LISTED + 20])
                    + (", ..." if len(others) > _MAX_LISTED + 20 else ""), ""]
    out += [
        "[video]",
        '# codec = "libx264"            # libx264 (h264) | libsvtav1 (av1) | libx265 (hevc)',
        '# preset = "veryfast"          # libsvtav1: "8"; lerobot uses "12", which can show stale frames',
        "# crf = 23                     # libsvtav1: 30",
        "# gop = 2",
        "",
        "[flushing]",
        "# max_frames_per_chunk = 1000",
        "# max_memory_bytes = 2147483648",
        "",
        "[episodes]",
        '# split = "none"               # "gap" (gap_s) or "topic" (a marker topic starts each episode)',
        "# gap_s = 1.0",
        "# min_frames = 1",
        "",
    ]
    return "\n".join(out)


def _mapping(topic: TopicInfo, feature: str, kind: str, note: str, policy: str | None = None,
             extra: list[str] | None = None) -> list[str]:
    lines = ["[[mappings]]", f"topic = {_q(topic.topic)}" + (f"   # {note}" if note else ""),
             f"feature = {_q(feature)}", f'mapping_type = "{kind}"', *(extra or [])]
    if policy:
        lines.append(f'policy = "{policy}"                # hold | nearest | interpolate | drop')
    if kind != "image" and is_joint_state(topic.type):
        lines.append('# joints = ["joint_a", "joint_b"]  # selection and order (default: all, first message order)')
        lines.append('# field = "position"             # position | velocity | effort, or a list')
    elif kind != "image" and topic.numeric_fields:
        lines.append(f"field = {json.dumps(list(topic.numeric_fields))}   # the first message's numeric fields")
    elif kind != "image" and default_fields(topic.type) is None:
        lines.append('field = "data"                   # TODO: numeric field path(s) of this type')
    lines.append("")
    return lines


def _commented(lines: list[str]) -> list[str]:
    return [f"# {line}" if line else "" for line in lines]


def _is_depth(topic: TopicInfo) -> bool:
    facts = topic.image or {}
    return str(facts.get("encoding", "")) in DEPTH_ENCODINGS or "compresseddepth" in str(facts.get("format", "")).lower()


def _vector_type(topic: TopicInfo) -> bool:
    return is_joint_state(topic.type) or default_fields(topic.type) is not None or bool(topic.numeric_fields)


def _pick_state(joints: list[TopicInfo], vectors: list[TopicInfo]) -> TopicInfo | None:
    """The JointState topic most likely measured; without one, a JSON/protobuf numeric topic named like a state."""
    measured = [t for t in joints if not _ACTION_WORDS.search(t.topic)]
    if not measured:
        measured = [t for t in vectors if t.numeric_fields and _STATE_WORDS.search(t.topic)
                    and not _ACTION_WORDS.search(t.topic)]
    if not measured:
        return None
    return max(measured, key=lambda t: ("joint_states" in t.topic, t.message_count))


def _pick_action(vectors: list[TopicInfo], state: TopicInfo | None) -> TopicInfo | None:
    commands = [t for t in vectors if t is not state and _ACTION_WORDS.search(t.topic)]
    return max(commands, key=lambda t: t.message_count) if commands else None


def _camera_rate(cameras: list[TopicInfo]) -> int | None:
    rates = [round(t.frequency_hz) for t in cameras if t.frequency_hz and t.frequency_hz >= 1]
    return Counter(rates).most_common(1)[0][0] if rates else None


def _camera_name(topic: str) -> str:
    parts = [p for p in topic.strip("/").split("/") if p and p.lower() not in _GENERIC]
    name = parts[-1] if parts else "camera"
    return re.sub(r"[^A-Za-z0-9_]+", "_", name).lower()


def _feature_names(cameras: list[TopicInfo]) -> list[str]:
    names = [_camera_name(t.topic) for t in cameras]
    counts = Counter(names)
    seen: Counter[str] = Counter()
    out = []
    for name in names:
        if counts[name] > 1:
            seen[name] += 1
            name = f"{name}_{seen[name]}"
        out.append(f"observation.images.{name}")
    return out


def _image_note(topic: TopicInfo) -> str:
    facts = topic.image or {}
    size = f"{facts['width']}x{facts['height']} " if facts.get("width") else ""
    what = facts.get("encoding") or facts.get("format") or normalise_type(topic.type)
    return f"{size}{what}, {_rate(topic)}"


def _rate_note(topic: TopicInfo) -> str:
    return f"{normalise_type(topic.type)}, {_rate(topic)}"


def _rate(topic: TopicInfo) -> str:
    rate = f"{topic.frequency_hz:.1f} Hz" if topic.frequency_hz else "rate unknown"
    return f"{topic.message_count} msgs, {rate}"


def _q(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid TOML basic string
