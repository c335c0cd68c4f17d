"""What ``init-config`` reads from a recording beyond ``inspect``: the fields of each topic's first message and
the transforms on TF topics, so the starter config can offer every numeric topic with its field list.
"""

from __future__ import annotations

from dataclasses import dataclass

from roboflow.decode import decoder_for
from roboflow.features.tf import Transform, is_tf, transforms_seen
from roboflow.features.types import image_kind
from roboflow.features.vectors import message_paths
from roboflow.sources.base import RecordingInfo, Source

__all__ = ["TopicFields", "survey"]


@dataclass(frozen=True, slots=True)
class TopicFields:
    """The fields of one topic's first message.

    Attributes:
        numeric: Paths of its numeric fields (arrays once, as ``name[]``), headers and stamps left out.
        other: Paths of its other fields (text, bytes).
        transforms: For a TF topic, the (parent, child) frames of its first messages.
        error: Why the first message could not be read or decoded (then nothing else is known).
    """

    numeric: tuple[str, ...] = ()
    other: tuple[str, ...] = ()
    transforms: tuple[Transform, ...] = ()
    error: str | None = None


def survey(source: Source, info: RecordingInfo) -> dict[str, TopicFields]:
    """Per topic of ``info`` that is not a camera, the fields of its first message (TF: its transforms)."""
    found: dict[str, TopicFields] = {}
    for topic in info.topics:
        if image_kind(topic.type) is None and topic.message_count:
            found[topic.topic] = _fields(source, topic.topic, is_tf(topic.type))
    return found


def _fields(source: Source, topic: str, tf: bool) -> TopicFields:
    try:
        raw = next(iter(source.messages([topic])), None)
        if raw is None:
            return TopicFields(error="no message could be read")
        numeric, other = message_paths(decoder_for(raw.channel)(raw.data))
        transforms = tuple(transforms_seen(source, topic)) if tf else ()
    except Exception as err:  # noqa: BLE001 - decoders raise their own types; the topic is just not offered
        return TopicFields(error=str(err).splitlines()[0] if str(err) else type(err).__name__)
    return TopicFields(tuple(numeric), tuple(other), transforms)
