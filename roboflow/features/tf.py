"""TF topics: which transforms a recording's TF topics carry, and the field paths that select one of them.

A TF message (``tf2_msgs/TFMessage``, ROS1's ``tf/tfMessage``) holds a list of transforms, and consecutive messages
on ``/tf`` hold different ones (odom -> base_link, map -> odom, each wheel). ``transforms[0]`` would mix them, so a
mapping selects the transform by its child frame (and, optionally, its parent):
``transforms[child_frame_id=base_link].transform.translation``.
"""

from __future__ import annotations

import re
from itertools import islice

from roboflow.decode import decoder_for
from roboflow.features.types import normalise_type
from roboflow.sources.base import Source

__all__ = ["TF_TYPES", "Transform", "is_tf", "robot_transform", "transform_fields", "transforms_seen"]

#: Message types that are lists of TransformStamped.
TF_TYPES = frozenset({"tf2_msgs/msg/TFMessage", "tf/msg/tfMessage"})
#: A parent and a child frame id.
Transform = tuple[str, str]
#: Frames a starter config prefers as the robot's state, best first.
_ROBOT_FRAMES = ("base_link", "base_footprint", "base")
_PLAIN = re.compile(r"[\w/.:-]+")


def is_tf(type_name: str) -> bool:
    return normalise_type(type_name) in TF_TYPES


def transform_fields(child: str, parent: str | None = None) -> tuple[str, str]:
    """The field paths of the translation and rotation of the transform to ``child`` (from ``parent``)."""
    selection = f"child_frame_id={_value(child)}"
    if parent is not None:
        selection = f"header.frame_id={_value(parent)}, {selection}"
    return (f"transforms[{selection}].transform.translation", f"transforms[{selection}].transform.rotation")


def transforms_seen(source: Source, topic: str, limit: int = 500) -> list[Transform]:
    """The (parent, child) frames of the first ``limit`` messages of TF topic ``topic``, in order of appearance.

    Raises:
        SourceError: A message cannot be read or decoded (decoders may raise their own exception types too).
    """
    seen: dict[Transform, None] = {}
    for raw in islice(source.messages([topic]), limit):
        for transform in getattr(decoder_for(raw.channel)(raw.data), "transforms", ()):
            seen.setdefault((str(transform.header.frame_id), str(transform.child_frame_id)))
    return list(seen)


def robot_transform(pairs: list[Transform]) -> Transform | None:
    """The transform most likely to be the robot's pose: to a base frame, else the first one."""
    for frame in _ROBOT_FRAMES:
        for pair in pairs:
            if pair[1].lstrip("/") == frame:
                return pair
    return pairs[0] if pairs else None


def _value(frame: str) -> str:
    return frame if _PLAIN.fullmatch(frame) else f"'{frame}'"
