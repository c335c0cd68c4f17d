"""A commented starter config for a recording (``roboflow init-config``), from what ``inspect`` sees and the
fields of each topic's first message (:mod:`roboflow.config.survey`).

A camera whose first frame cannot be decoded, and a topic whose first message cannot, are left out with the
reason. Every numeric topic is a candidate: JointState, the types with a default vector, TF (one transform selected by
its child frame) and any type whose fields are all numbers (``turtlesim/Pose``). Cameras become image mappings;
the most likely state (a JointState, else a candidate named like a state: state, pose, odom, position, joint) and
action (a candidate named command, cmd, action, target, goal, desired or setpoint) are active, the other
candidates and depth cameras are listed as commented-out mappings with their fields. The dataset fps is the
cameras' rate, else the state's. The text is valid TOML that :func:`~roboflow.config.parse_config` accepts when
something is active.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping

from roboflow.config.survey import TopicFields
from roboflow.features.tf import is_tf, robot_transform, transform_fields
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
_STATE_WORDS = re.compile(r"state|pose|odom|position|joint", re.IGNORECASE)
_MAX_FIELDS = 16
_MAX_LISTED = 8
_GENERIC = {"image", "image_raw", "compressed", "data", "color", "rgb", "raw", "image_color", "image_rect",
            "image_rect_color", "camera", "cameras", "sensor_msgs", "compresseddepth"}


def starter_config(info: RecordingInfo, *, fps: int | None = None, name: str | None = None,
                   fields: Mapping[str, TopicFields] | None = None) -> str:
    """The starter config text for ``info``; ``fields``: per topic, what its first message holds (without it
    only JointState, TF and the types with a default vector are offered)."""
    fields = fields or {}
    cameras = [t for t in info.topics if image_kind(t.type) is not None and not _is_depth(t)]
    depths = [t for t in info.topics if image_kind(t.type) is not None and _is_depth(t)]
    vectors = [t for t in info.topics if image_kind(t.type) is None and _is_candidate(t, fields.get(t.topic))]
    state = _pick_state(vectors)
    action = _pick_action(vectors, state)
    rate = fps or _camera_rate(cameras) or _state_rate(state) or 30
    dataset_name = name or re.sub(r"[^A-Za-z0-9_-]+", "_", info.path.rstrip("/").split("/")[-1].split(".")[0])
    out = [
        f"# Starter config for {info.path}",
        f"# ({info.format}, {info.duration_s:.1f} s, {len(info.topics)} topics). Edit, then run:",
        f"#   roboflow convert {info.path} -c THIS_FILE -o OUT_DIR",
        "# Every key is described in docs/convert.md.",
        "",
        "[dataset]",
        f"name = {_q(dataset_name or 'dataset')}",
        f"fps = {rate}                      # frames per second of the dataset timeline{_rate_origin(fps, cameras, state)}",
        'robot_type = "unknown"',
        'task = "describe the task"      # or task_topic = "/task" (std_msgs/String)',
        '# format = "v3.0"              # or "v2.1" for lerobot 0.3.x',
        '# time = "log"                 # "header" to place messages by header.stamp',
        "",
    ]
    names = _feature_names(cameras)
    for topic, feature in zip(cameras, names, strict=True):
        block = _mapping(topic, feature, "image", _image_note(topic))
        problem = (topic.image or {}).get("error")
        out += [f"# Cannot decode its first frame, so left out: {problem}", *_commented(block)] if problem else block
    for topic in depths:
        out += _commented(_mapping(topic, f"observation.images.{_camera_name(topic.topic)}", "image",
                                   "depth: stored as 8-bit gray, value/depth_max*255",
                                   extra=["depth_max = 4000.0"]))
    if state is not None:
        out += _mapping(state, "observation.state", "state", _rate_note(state), policy="hold",
                        fields=fields.get(state.topic))
    if action is not None:
        out += _mapping(action, "action", "action", _rate_note(action), policy="hold", fields=fields.get(action.topic))
    others = [t for t in vectors if t is not state and t is not action]
    if state is None and action is None and not others:
        out += ["# No numeric topic found: map vectors like this (see docs/convert.md):", ""]
        out += _commented(["[[mappings]]", 'topic = "/joint_states"', 'feature = "observation.state"',
                           'mapping_type = "state"', ""])
    if others:
        out.append("# Other numeric topics; uncomment to add them (field selects values, see docs/convert.md):"
                   if state is not None or action is not None or cameras else
                   "# No topic looks like the robot's state or action: uncomment the blocks to use (at least one).")
        for topic in others[:_MAX_LISTED]:
            feature = "observation." + re.sub(r"[^A-Za-z0-9_]+", "_", topic.topic.strip("/")).lower()
            out += _commented(_mapping(topic, feature, "state", _rate_note(topic), fields=fields.get(topic.topic)))
        if len(others) > _MAX_LISTED:
            out += [f"# ... and {len(others) - _MAX_LISTED} more: "
                    + ", ".join(t.topic for t in others[_MAX_LISTED:_MAX_LISTED + 20])
                    + (", ..." if len(others) > _MAX_LISTED + 20 else ""), ""]
    unreadable = [(topic, found.error) for topic, found in fields.items() if found.error is not None]
    out += [f"# Not offered, its first message cannot be decoded: {topic}: {error}" for topic, error in unreadable]
    out += [""] if unreadable else []
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
             extra: list[str] | None = None, fields: TopicFields | None = None) -> list[str]:
    lines = ["[[mappings]]", f"topic = {_q(topic.topic)}" + (f"   # {note}" if note else ""),
             f"feature = {_q(feature)}", f'mapping_type = "{kind}"', *(extra or [])]
    if policy:
        lines.append(f'policy = "{policy}"                # hold | nearest | interpolate | drop')
    if kind != "image":
        lines += _field_lines(topic, fields or TopicFields())
    lines.append("")
    return lines


def _field_lines(topic: TopicInfo, fields: TopicFields) -> list[str]:
    """The ``field`` keys (and comments listing the fields) of a vector mapping of ``topic``."""
    if is_joint_state(topic.type):
        return ['# joints = ["joint_a", "joint_b"]  # selection and order (default: all, first message order)',
                '# field = "position"             # position | velocity | effort, or a list']
    if is_tf(topic.type):
        pairs = list(fields.transforms)
        parent, child = robot_transform(pairs) or ("odom", "base_link")
        ambiguous = sum(c == child for _, c in pairs) > 1
        shown = ", ".join(f"{p} -> {c}" for p, c in pairs[:_MAX_LISTED]) + (", ..." if len(pairs) > _MAX_LISTED else "")
        return [f"# transforms on this topic: {shown or 'none seen'}; select one by child_frame_id (header.frame_id)",
                "field = [" + ", ".join(_q(path) for path in transform_fields(child, parent if ambiguous else None)) + "]"]
    default = default_fields(topic.type)
    if default is not None:
        return [f"# field = [{', '.join(_q(path) for path in default)}]   # the default"]
    paths = [path.removesuffix("[]") for path in fields.numeric]
    if len(paths) <= _MAX_FIELDS and not any("[]" in path for path in paths):
        return ["field = [" + ", ".join(_q(path) for path in paths) + "]"]
    listed = ", ".join(fields.numeric[:_MAX_FIELDS]) + (", ..." if len(paths) > _MAX_FIELDS else "")
    first = paths[0].replace("[]", "[0]")  # an element of an array of messages, e.g. poses[0].position.x
    return [f"# fields: {listed}", f"field = {_q(first)}                   # TODO: the numeric field path(s) to map"]


def _commented(lines: list[str]) -> list[str]:
    return [f"# {line}" if line else "" for line in lines]


def _is_depth(topic: TopicInfo) -> bool:
    facts = topic.image or {}
    return str(facts.get("encoding", "")) in DEPTH_ENCODINGS or "compresseddepth" in str(facts.get("format", "")).lower()


def _is_candidate(topic: TopicInfo, fields: TopicFields | None) -> bool:
    """Whether ``topic`` can feed a vector: a JointState, TF, a type with a default vector, or all numbers."""
    if is_joint_state(topic.type) or is_tf(topic.type) or default_fields(topic.type) is not None:
        return fields is None or fields.error is None
    return fields is not None and fields.error is None and bool(fields.numeric) and not fields.other


def _pick_state(vectors: list[TopicInfo]) -> TopicInfo | None:
    measured = [t for t in vectors if not _ACTION_WORDS.search(t.topic)
                and (is_joint_state(t.type) or _STATE_WORDS.search(t.topic))]
    if not measured:
        return None
    return max(measured, key=lambda t: (is_joint_state(t.type), "joint_states" in t.topic, t.message_count))


def _pick_action(vectors: list[TopicInfo], state: TopicInfo | None) -> TopicInfo | None:
    commands = [t for t in vectors if t is not state and _ACTION_WORDS.search(t.topic)]
    if not commands:
        return None
    namespace = _namespace(state.topic) if state is not None else None
    return max(commands, key=lambda t: (_namespace(t.topic) == namespace, t.message_count))


def _namespace(topic: str) -> str:
    return topic.strip("/").split("/")[0]


def _camera_rate(cameras: list[TopicInfo]) -> int | None:
    rates = [round(t.frequency_hz) for t in cameras if t.frequency_hz and t.frequency_hz >= 1]
    return Counter(rates).most_common(1)[0][0] if rates else None


def _state_rate(state: TopicInfo | None) -> int | None:
    if state is None or not state.frequency_hz or state.frequency_hz < 1:
        return None
    return min(round(state.frequency_hz), 1000)


def _rate_origin(fps: int | None, cameras: list[TopicInfo], state: TopicInfo | None) -> str:
    if fps is not None:
        return ""
    if _camera_rate(cameras) is not None:
        return " (the cameras' rate)"
    if _state_rate(state) is not None and state is not None:
        return f" (the rate of {state.topic}; no camera)"
    return ""


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
