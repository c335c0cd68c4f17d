"""The starter config of a Rerun recording (``roboflow init-config run.rrd``).

Rerun users log entities, not ROS types, so the rules are by archetype and entity path:

* ``Image``, ``EncodedImage``, ``DepthImage``, ``VideoStream`` and ``VideoFrameReference`` entities become cameras (a depth camera with ``depth_max`` at
  4 m in its own units, from its ``meter`` scale);
* numeric entities (``Scalars``, ``Tensor``, ``BarChart``) are state or action candidates by their path: one
  naming an action (``action``, ``command``, ``target`` ...) is an action, one naming a state (``joint``,
  ``state``, ``position`` ...) the state. All candidates of a role are concatenated into its one feature, in path
  order (``joint_2`` before ``joint_10``), so a series of one-value entities under one parent
  (``/robot/action/joint_0`` ...) becomes one vector whose values are named after the entity paths;
* ``[source] timeline`` is the clock :func:`~roboflow.sources.rrd_timelines.choose_clock` picked (written out,
  so that a recording with several timestamp timelines converts as inspected).

The result converts as written; other numeric entities are listed commented out.
"""

from __future__ import annotations

import re

from roboflow.config.starter import (
    _camera_rate,
    _commented,
    _feature_names,
    _image_note,
    _mapping,
    _q,
    _rate_note,
    dataset_lines,
    tail_lines,
)
from roboflow.features.types import image_kind, rerun_vector
from roboflow.sources.base import RecordingInfo, TopicInfo

__all__ = ["rrd_starter_config"]

_ACTION = re.compile(r"action|command|cmd|target|goal|desired|setpoint", re.IGNORECASE)
_STATE = re.compile(r"joint|state|position|qpos|proprio", re.IGNORECASE)
#: A DepthImage's depth_max: 4 m, in the image's units (``meter`` units per meter).
_DEPTH_RANGE_M = 4.0
_MAX_LISTED = 8


def rrd_starter_config(info: RecordingInfo, *, fps: int | None = None, name: str | None = None) -> str:
    """The starter config text of the Rerun recording ``info``."""
    images = [t for t in info.topics if image_kind(t.type) is not None and not t.static]
    numeric = sorted((t for t in info.topics if rerun_vector(t.type) is not None and not t.static),
                     key=lambda t: _natural(t.topic))
    actions = [t for t in numeric if _ACTION.search(t.topic)]
    states = [t for t in numeric if t not in actions and _STATE.search(t.topic)]
    sequence = _sequence_clock(info)
    rate = fps or (None if sequence else _camera_rate(images)) or 30
    out = dataset_lines(info, rate, name)
    out += _source_lines(info, sequence, rate)
    for topic, feature in zip(images, _feature_names(images), strict=True):
        meter = (topic.image or {}).get("meter")
        extra = [f"depth_max = {meter * _DEPTH_RANGE_M}   # white at {_DEPTH_RANGE_M:g} m"] if isinstance(meter, float) else []
        out += _mapping(topic, feature, "image", _image_note(topic), extra=extra)
    out += _vector("observation.state", "state", states)
    out += _vector("action", "action", actions)
    if not states and not actions:
        out += ["# No entity path names a state (joint, state, position) or an action (action, command, target).", ""]
    others = [t for t in numeric if t not in states and t not in actions]
    if others:
        out.append("# Other numeric entities; uncomment to add them:")
        for topic in others[:_MAX_LISTED]:
            feature = "observation." + re.sub(r"[^A-Za-z0-9_]+", "_", topic.topic.strip("/")).lower()
            out += _commented(_mapping(topic, feature, "state", _rate_note(topic)))
        if len(others) > _MAX_LISTED:
            out += [f"# ... and {len(others) - _MAX_LISTED} more", ""]
    return "\n".join(out + tail_lines())


def _sequence_clock(info: RecordingInfo) -> str | None:
    """The one user sequence timeline of a recording that has no user timestamp timeline (its data's clock)."""
    users = [t for t in info.timelines if t.is_user]
    sequences = [t.name for t in users if t.kind == "sequence"]
    return sequences[0] if len(sequences) == 1 and len(users) == 1 else None


def _source_lines(info: RecordingInfo, sequence: str | None, rate: int) -> list[str]:
    listed = ", ".join(f"{t.name} ({t.kind})" for t in info.timelines) or "none"
    lines = ["[source]", f"# timelines of this recording: {listed}"]
    if sequence is not None:
        note = f"# TODO: steps per second of {sequence} (the rates above are on log_time, the logger's clock)"
        return [*lines, f"timeline = {_q(sequence)}", f"timeline_rate = {rate}   {note}", ""]
    if info.clock is None:
        return [*lines, "# no timeline: the recording holds only static data", ""]
    stamped = [t.name for t in info.timelines if t.is_user and t.kind != "sequence"]
    note = (f"TODO: the data's clock, one of {', '.join(stamped)}" if len(stamped) > 1
            else "the data's clock; a sequence also needs timeline_rate")
    return [*lines, f"timeline = {_q(info.clock)}            # {note}", ""]


def _vector(feature: str, kind: str, topics: list[TopicInfo]) -> list[str]:
    """One mapping concatenating ``topics`` (a single topic: the usual ``topic = ...`` form)."""
    if not topics:
        return []
    if len(topics) == 1:
        return _mapping(topics[0], feature, kind, _rate_note(topics[0]), policy="hold")
    listed = ",\n".join(f"    {_q(t.topic)}" for t in topics)
    rates = sorted({f"{t.frequency_hz:.0f} Hz" for t in topics if t.frequency_hz})
    return ["[[mappings]]", f"topics = [   # {len(topics)} entities, concatenated; {', '.join(rates) or 'rate unknown'}",
            listed, "]", f"feature = {_q(feature)}", f'mapping_type = "{kind}"',
            'policy = "hold"                # hold | nearest | interpolate | drop', ""]


def _natural(text: str) -> list[object]:
    """Sort key putting ``joint_2`` before ``joint_10``."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", text)]
