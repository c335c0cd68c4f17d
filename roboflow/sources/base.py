"""Records every source yields, and the protocol a source implements.

A source turns one recording (a file, a rosbag2 directory, or a seekable binary stream) into
:class:`RawMessage` records in log-time order per channel. It does not decode payloads; decoding is
:mod:`roboflow.decode`'s job, driven by the :class:`Schema` carried on each message's :class:`Channel`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Protocol, Self

__all__ = [
    "Channel",
    "ChannelStats",
    "ClosingSource",
    "RawMessage",
    "RecordingInfo",
    "Schema",
    "Source",
    "TopicInfo",
]


@dataclass(frozen=True, slots=True)
class Schema:
    """A message type definition as stored in the recording.

    Attributes:
        name: Type name, e.g. ``sensor_msgs/msg/Image`` (normalised to ``pkg/msg/Type`` for ROS types).
        encoding: ``ros1msg``, ``ros2msg``, ``ros2idl``, ``protobuf``, ``jsonschema`` or ``""`` (none).
        data: The definition text or descriptor set bytes; empty when the recording has none.
    """

    name: str
    encoding: str
    data: bytes = b""


@dataclass(frozen=True, slots=True)
class Channel:
    """One stream of messages of one type on one topic.

    Attributes:
        id: Identifier unique within the recording.
        topic: Topic name, e.g. ``/camera/color/image_raw``.
        message_encoding: ``cdr``, ``ros1``, ``protobuf``, ``json``, ... (MCAP's vocabulary).
        schema: The message type, or None for schemaless channels.
        metadata: Extra per-channel facts (QoS profiles, callerid, compression), informational only.
    """

    id: int
    topic: str
    message_encoding: str
    schema: Schema | None
    metadata: dict[str, str] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True, slots=True)
class RawMessage:
    """One undecoded message.

    Attributes:
        channel: The channel it was recorded on.
        log_time: Time the recorder received it, integer nanoseconds.
        data: The serialized payload (decompressed if the recording compressed it).
        header_stamp: ``header.stamp`` in integer nanoseconds when the message type starts with a
            std_msgs/Header and the stamp could be read cheaply, else None.
    """

    channel: Channel
    log_time: int
    data: bytes | memoryview
    header_stamp: int | None = None

    @property
    def topic(self) -> str:
        return self.channel.topic


@dataclass(frozen=True, slots=True)
class ChannelStats:
    """Message count and log-time range of one channel, from the recording's index where it has one.

    Attributes:
        message_count: Number of messages.
        start_time: Log time of the earliest message (ns), None when there are none.
        end_time: Log time of the latest message (ns), None when there are none.
    """

    message_count: int
    start_time: int | None
    end_time: int | None


@dataclass(frozen=True, slots=True)
class TopicInfo:
    """Summary of one topic, as ``roboflow inspect`` shows it.

    Attributes:
        log_range: Log times of its first and last message, ns.
        header_range: Header stamps of its first and last message, ns, when the first differs from its log time
            by more than :data:`~roboflow.sources.info.CLOCK_TOLERANCE_NS` (a header clock other than the log
            clock).
    """

    topic: str
    type: str
    message_encoding: str
    message_count: int
    frequency_hz: float | None = None
    image: dict[str, object] | None = None
    log_range: tuple[int, int] | None = None
    header_range: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True)
class RecordingInfo:
    """Summary of one recording.

    Attributes:
        notes: Facts about how the recording is read that a user should know, e.g. that it stores no
            message definitions and decoding uses a built-in ROS distro's types.
    """

    path: str
    format: str
    start_time: int | None
    end_time: int | None
    message_count: int
    topics: tuple[TopicInfo, ...]
    notes: tuple[str, ...] = ()

    @property
    def duration_s(self) -> float:
        if self.start_time is None or self.end_time is None:
            return 0.0
        return (self.end_time - self.start_time) / 1e9


class Source(Protocol):
    """A readable recording. Use as a context manager; ``close()`` is idempotent."""

    path: str
    format: str

    @property
    def channels(self) -> tuple[Channel, ...]: ...

    def messages(
        self, topics: Iterable[str] | None = None, start: int | None = None, stop: int | None = None
    ) -> Iterator[RawMessage]:
        """Yield messages of the given topics (all when None) in log-time order.

        Topics not asked for are skipped before decompression where the format allows it.
        """
        ...

    def statistics(self) -> Mapping[int, ChannelStats]:
        """Per channel id: message count and log-time range (from the index where there is one).

        Raises:
            SourceError: The recording is damaged (e.g. truncated); the message says how many
                messages are readable.
        """
        ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None: ...


class ClosingSource(ABC):
    """The context-manager half of :class:`Source` for a class that defines ``close()``."""

    @abstractmethod
    def close(self) -> None:
        """Release what the source holds. Idempotent."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
