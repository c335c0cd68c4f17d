"""How one recording's messages become dataset frames: the config matched against the recording's channels.

:class:`FeaturePlan` checks that every mapped topic exists (listing the recording's topics, closest first, when
one does not) and that its type can feed the mapping, then turns messages into aligner samples and aligned
frames into the ``{feature: array}`` dicts the episode writer takes:

* vector inputs are decoded and extracted when their message arrives (cheap, and interpolation needs values);
* camera messages stay undecoded in the aligner and are decoded only for frames that are written, once per
  message even when a slow camera's frame is held for several frames;
* video camera messages go, every one and in order, through their topic's decoder thread
  (:mod:`~roboflow.features.video`); the aligner gets the decoded frames, so a message that yields no image
  (before the first keyframe, corrupt) is absent; frames that are written leave as planar yuv420p arrays, which
  the encoder takes without colour conversion.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import av
import numpy as np

from roboflow.align import Frame, StreamSpec
from roboflow.config.model import Config, Mapping, Policy, TimeSource, TopicInput
from roboflow.config.schema import closest
from roboflow.decode import decoder_for
from roboflow.errors import ConfigError, SourceError
from roboflow.features.images import ImageDecoder
from roboflow.features.types import image_kind, normalise_type
from roboflow.features.vectors import VectorExtractor, vector_extractor
from roboflow.features.video import VideoDecoder, video_packet
from roboflow.lerobot.spec import CameraFeature, DatasetSpec, VectorFeature
from roboflow.media.bitstream import DECODERS
from roboflow.media.frames import freeze
from roboflow.media.packets import VideoPacket
from roboflow.sources.base import Channel, RawMessage

__all__ = ["FeaturePlan", "Sample", "Submit"]

#: (stream index, time ns, log time ns, value, size in bytes) as :meth:`Aligner.push` takes them.
Sample = tuple[int, int, int, Any, int]
#: ``submit(stream index, work) -> Future`` of the work's result.
Submit = Callable[[int, Callable[[], np.ndarray]], "Future[np.ndarray]"]


@dataclass(slots=True)
class _Pending:
    """A message of a vector stream that no frame may take (a 200 Hz joint state at 30 fps: most of them), left
    undecoded until one does; decoded once even when held for several frames."""

    raw: RawMessage
    time: int
    value: np.ndarray | None = None


@dataclass(frozen=True, slots=True)
class _Stream:
    """One aligner stream: an input of a mapping, or the task topic (mapping None)."""

    mapping: Mapping | None
    input: TopicInput
    type_name: str

    @property
    def name(self) -> str:
        """The label of the stream in reports and errors."""
        return self.input.topic if self.mapping is None else f"{self.input.topic} -> {self.mapping.feature}"


class FeaturePlan:
    """The conversion of one recording's messages into frames.

    Args:
        config: The validated config.
        channels: The recording's channels.
        origin: The recording, for messages.
        strict: A corrupt video packet is an error instead of a warning and a frame left out.

    Raises:
        SourceError: A mapped topic is missing from the recording, or has several types.
        ConfigError: A topic's type cannot feed its mapping.
    """

    def __init__(self, config: Config, channels: Sequence[Channel], origin: str, *, strict: bool = False) -> None:
        self.config = config
        self.origin = origin
        self.strict = strict
        types = _topic_types(channels, origin)
        task_topic = config.dataset.task_topic
        wanted = [(f"mapping '{m.feature}'", i.topic) for m in config.mappings for i in m.inputs]
        _require(wanted + ([("[dataset] task_topic", task_topic)] if task_topic else []), types, origin)
        self._streams: list[_Stream] = []
        for mapping in config.mappings:
            for topic_input in mapping.inputs:
                type_name = types[topic_input.topic]
                _check_type(mapping, topic_input, type_name, origin)
                self._streams.append(_Stream(mapping, topic_input, type_name))
        if task_topic is not None:
            self._streams.append(_Stream(None, TopicInput(task_topic, policy=Policy.HOLD), types[task_topic]))
        self.topics: tuple[str, ...] = tuple(dict.fromkeys(s.input.topic for s in self._streams))
        #: Stream index of the task topic, or None.
        self.task_stream = len(self._streams) - 1 if task_topic is not None else None
        self._by_topic: dict[str, list[int]] = {}
        for index, stream in enumerate(self._streams):
            self._by_topic.setdefault(stream.input.topic, []).append(index)
        self._extractors: list[Callable[[Any, int], Any] | None] = [self._extractor(s) for s in self._streams]
        self._lazy = [_decodes_lazily(s, e) for s, e in zip(self._streams, self._extractors, strict=True)]
        self._decoders: dict[int, Callable[[bytes | memoryview], Any]] = {}
        self._decoded: dict[int, tuple[Any, Any]] = {}
        #: stream index -> its video decoder, or None for an image stream that is not video (decided at the
        #: first message: a CompressedImage's format tells).
        self._video: dict[int, VideoDecoder | None] = {}
        #: Features whose frames are planar yuv420p arrays (decoded video), not RGB or gray.
        self._yuv_features: set[str] = set()

    @property
    def streams(self) -> tuple[StreamSpec, ...]:
        """Aligner specs, one per stream, in stream order."""
        return tuple(
            StreamSpec(
                name=s.name,
                policy=s.input.policy,
                tolerance_ns=s.input.tolerance_ns,
                required=s.mapping is not None,
                header_time=s.input.time is TimeSource.HEADER or _may_be_video(s),
            )
            for s in self._streams
        )

    def samples(self, raw: RawMessage) -> Iterator[Sample]:
        """The aligner samples of one message (one per stream its topic feeds)."""
        msg: Any = None
        for index in self._by_topic.get(raw.topic, ()):
            stream = self._streams[index]
            is_image = stream.mapping is not None and stream.mapping.is_image
            # None: the header stamp is read from the decoded message
            stamp = raw.header_stamp if stream.input.time is TimeSource.HEADER else raw.log_time
            if self._lazy[index] and stamp is not None:
                yield index, stamp, raw.log_time, _Pending(raw, stamp), len(raw.data)
                continue
            if not is_image and msg is None:
                msg = self._decode(raw)
            time = stamp if stamp is not None else _header_stamp(msg, raw.log_time)
            if is_image:
                video = self._video_decoder(index, raw)
                if video is None:
                    yield index, time, raw.log_time, raw, len(raw.data)
                    continue
                own_stamp = stream.input.time is TimeSource.HEADER and raw.header_stamp is None
                for frame_time, log_time, frame in video.push(raw, None if own_stamp else time):
                    yield index, frame_time, log_time, frame, _frame_bytes(frame)
                continue
            extractor = self._extractors[index]
            value = extractor(msg, time) if extractor is not None else _task_text(msg)
            yield index, time, raw.log_time, value, getattr(value, "nbytes", 64)

    def drain(self) -> Iterator[Sample]:
        """The samples of video messages still decoding (call before the aligner's end of input)."""
        for index, video in self._video.items():
            if video is not None:
                for time, log_time, frame in video.drain():
                    yield index, time, log_time, frame, _frame_bytes(frame)

    def video_report(self) -> dict[str, dict[str, Any]]:
        """Per video topic: what its decoder saw since the last call (packets, frames, left out)."""
        return {video.topic: video.take_counts().to_dict() for video in self._video.values() if video is not None}

    def close(self) -> None:
        """Stop the video decoder threads (idempotent)."""
        for video in self._video.values():
            if video is not None:
                video.close()

    def absent_notes(self) -> dict[str, str]:
        """Per stream name, how many messages lacked the selected array element (streams where any did)."""
        notes = {}
        for stream, extractor in zip(self._streams, self._extractors, strict=True):
            note = extractor.absent_note() if isinstance(extractor, VectorExtractor) else None
            if note is not None:
                notes[stream.name] = note
        return notes

    def frame(self, frame: Frame, submit: Submit | None = None) -> tuple[dict[str, Any], str | None]:
        """The writer's frame dict for an aligned frame, and its task (None: the default task).

        Args:
            frame: The aligned frame.
            submit: ``submit(stream, work)`` runs an image decoding elsewhere and returns its Future (which then
                stands in the dict for the image); None decodes here. Work of one stream must run in order.
        """
        features: dict[str, Any] = {}
        task: str | None = None
        parts: dict[str, list[np.ndarray]] = {}
        for index, (stream, value) in enumerate(zip(self._streams, frame.values, strict=True)):
            if stream.mapping is None:
                task = value
            elif stream.mapping.is_image:
                features[stream.mapping.feature] = self._image(index, value, submit)
            else:
                parts.setdefault(stream.mapping.feature, []).append(
                    self._vector(index, value) if isinstance(value, _Pending) else value)
        for feature, values in parts.items():
            features[feature] = values[0] if len(values) == 1 else np.concatenate(values)
        return features, task

    def dataset_spec(self, first: dict[str, np.ndarray]) -> DatasetSpec:
        """The dataset spec, from the config and the first frame (image sizes, vector names).

        Raises:
            ConfigError: Configured names do not match the vector's length.
        """
        vectors: list[VectorFeature] = []
        cameras: list[CameraFeature] = []
        for mapping in self.config.mappings:
            value = first[mapping.feature]
            if isinstance(value, VideoPacket):
                cameras.append(CameraFeature(mapping.feature, value.height, value.width, passthrough=True))
                continue
            if mapping.is_image and mapping.feature in self._yuv_features:
                cameras.append(CameraFeature(mapping.feature, value.shape[0] * 2 // 3, value.shape[1]))
                continue
            if mapping.is_image:
                cameras.append(CameraFeature(mapping.feature, value.shape[0], value.shape[1],
                                             channels=3 if value.ndim == 3 else 1))
                continue
            names = mapping.names or self._derived_names(mapping)
            if len(names) != value.size:
                raise ConfigError(
                    f"mapping '{mapping.feature}': {len(names)} names for a vector of {value.size} values",
                    path=self.config.origin,
                )
            vectors.append(VectorFeature(mapping.feature, names))
        return DatasetSpec(fps=self.config.dataset.fps, robot_type=self.config.dataset.robot_type,
                           vectors=tuple(vectors), cameras=tuple(cameras))

    def _derived_names(self, mapping: Mapping) -> tuple[str, ...]:
        names: list[str] = []
        for stream, extractor in zip(self._streams, self._extractors, strict=True):
            if stream.mapping is mapping:
                assert isinstance(extractor, VectorExtractor) and extractor.names is not None
                names.extend(extractor.names)
        return tuple(names)

    def _video_decoder(self, index: int, raw: RawMessage) -> VideoDecoder | None:
        if index in self._video:
            return self._video[index]
        stream = self._streams[index]
        kind = image_kind(stream.type_name)
        video = kind == "video" or (
            kind == "compressed" and video_packet(self._decode(raw), stream.type_name)[0] in DECODERS)
        assert stream.mapping is not None
        passthrough = stream.mapping.passthrough
        if passthrough is None:
            passthrough = self.config.video.passthrough
        decoder = VideoDecoder(stream.input.topic, stream.type_name, self._decode, strict=self.strict,
                               passthrough=passthrough) if video else None
        if video:
            self._yuv_features.add(stream.mapping.feature)
        self._video[index] = decoder
        return decoder

    def _extractor(self, stream: _Stream) -> Callable[[Any, int], Any] | None:
        if stream.mapping is None:
            return None
        if stream.mapping.is_image and image_kind(stream.type_name) == "video":
            return None  # decoded by its VideoDecoder
        if stream.mapping.is_image:
            return ImageDecoder(stream.input.topic, stream.type_name, stream.mapping.depth_max)
        return vector_extractor(stream.input, stream.type_name)

    def _decode(self, raw: RawMessage) -> Any:
        decoder = self._decoders.get(raw.channel.id)
        if decoder is None:
            decoder = self._decoders[raw.channel.id] = decoder_for(raw.channel)
        try:
            return decoder(raw.data)
        except SourceError:
            raise
        except Exception as err:  # a decoder's own exception types vary by encoding
            raise SourceError(f"{raw.topic} at t={raw.log_time / 1e9:.6f} s: cannot decode message: {err}",
                              path=self.origin) from err

    def _vector(self, index: int, pending: _Pending) -> np.ndarray:
        """The value of a message left undecoded (see :func:`_decodes_lazily`)."""
        if pending.value is None:
            extractor = self._extractors[index]
            assert extractor is not None
            pending.value = extractor(self._decode(pending.raw), pending.time)
            assert pending.value is not None  # such extractors always find their value, or raise
        return pending.value

    def _image(self, index: int, value: RawMessage | av.VideoFrame | VideoPacket, submit: Submit | None) -> Any:
        """The decoded image (or its Future), once per message even when a frame is held for several frames; a
        packet to copy as it is."""
        if isinstance(value, VideoPacket):
            return value
        cached = self._decoded.get(index)
        if cached is not None and cached[0] is value:
            return cached[1]
        work: Callable[[], np.ndarray]
        if isinstance(value, av.VideoFrame):
            frame = value

            def work() -> np.ndarray:
                # planar yuv420p goes to the encoder without any colour conversion (none at all for 8-bit 4:2:0)
                yuv: np.ndarray = frame.to_ndarray(format="yuv420p")
                return yuv
        else:
            decoder = self._extractors[index]
            assert decoder is not None
            raw = value

            def work() -> np.ndarray:
                image: np.ndarray = decoder(self._decode(raw), raw.log_time)
                return image

        def frozen() -> np.ndarray:  # kept by the episode writer as it is, not copied
            return freeze(work())

        image = submit(index, frozen) if submit is not None else frozen()
        self._decoded[index] = (value, image)
        return image


def _decodes_lazily(stream: _Stream, extractor: Callable[[Any, int], Any] | None) -> bool:
    """Whether a vector stream's messages may stay undecoded until a frame takes them: the aligner chooses
    among them by time alone (not interpolated), and each message's value is its own
    (:attr:`VectorExtractor.self_contained`)."""
    if stream.mapping is None or stream.mapping.is_image or stream.input.policy is Policy.INTERPOLATE:
        return False
    return isinstance(extractor, VectorExtractor) and extractor.self_contained


def _topic_types(channels: Sequence[Channel], origin: str) -> dict[str, str]:
    types: dict[str, str] = {}
    for channel in channels:
        name = normalise_type(channel.schema.name) if channel.schema is not None else ""
        known = types.setdefault(channel.topic, name)
        if known != name:
            raise SourceError(f"topic {channel.topic} has two types, {known} and {name}", path=origin)
    return types


def _require(wanted: Sequence[tuple[str, str]], types: dict[str, str], origin: str) -> None:
    """Raise one error naming every ``(what, topic)`` whose topic is not in the recording."""
    missing = [(what, topic) for what, topic in wanted if topic not in types]
    if not missing:
        return
    listed = closest(missing[0][1], types)
    shown = ", ".join(listed[:10]) + (f", ... ({len(listed)} topics)" if len(listed) > 10 else "")
    hint = f"it has: {shown}" if listed else "it has no topics"
    if len(missing) == 1:
        what, topic = missing[0]
        raise SourceError(f"{what}: topic {topic} is not in this recording", path=origin, hint=hint)
    names = ", ".join(f"{topic} ({what})" for what, topic in missing)
    raise SourceError(f"{len(missing)} mapped topics are not in this recording: {names}", path=origin, hint=hint)


def _check_type(mapping: Mapping, topic_input: TopicInput, type_name: str, origin: str) -> None:
    topic = topic_input.topic
    if mapping.is_image:
        if image_kind(type_name) is None:
            raise ConfigError(
                f"mapping '{mapping.feature}': {topic} is {type_name or 'schemaless'}, which carries no images",
                path=origin, hint="image mappings read sensor_msgs/Image or CompressedImage, foxglove images, "
                "CompressedVideo, FFMPEGPacket, Rerun Image, EncodedImage, DepthImage, VideoStream or VideoFrameReference",
            )
        return
    if image_kind(type_name) is not None:
        raise ConfigError(
            f"mapping '{mapping.feature}': {topic} is {type_name}, an image type, which cannot feed a "
            f"{mapping.mapping_type.value} vector", path=origin, hint="use mapping_type = \"image\"",
        )
    # a type without a default vector is reported at its first message, which lists its numeric fields


def _may_be_video(stream: _Stream) -> bool:
    """Whether a stream's samples may reach the aligner after messages logged later (video frames come from
    their decoder thread a few packets late), so the aligner must not take the clock as a bound on its first
    time, as for header-stamped streams. A CompressedImage topic tells whether it is video only at its first
    message."""
    return stream.mapping is not None and stream.mapping.is_image and image_kind(stream.type_name) in (
        "video", "compressed")


def _frame_bytes(frame: av.VideoFrame | VideoPacket) -> int:
    """Bytes a decoded frame or a packet holds (for the aligner's memory bound)."""
    if isinstance(frame, VideoPacket):
        return len(frame.data)
    return sum(plane.buffer_size for plane in frame.planes)


def _header_stamp(msg: Any, fallback: int) -> int:
    """``header.stamp`` of a decoded message in ns, or ``fallback`` when it has none."""
    header = msg.get("header") if isinstance(msg, dict) else getattr(msg, "header", None)
    stamp = header.get("stamp") if isinstance(header, dict) else getattr(header, "stamp", None)
    if stamp is None:
        return fallback
    sec = getattr(stamp, "sec", None)
    if sec is None:
        sec = getattr(stamp, "secs", 0)
    nsec = getattr(stamp, "nanosec", None)
    if nsec is None:
        nsec = getattr(stamp, "nsecs", 0)
    return int(sec or 0) * 1_000_000_000 + int(nsec or 0)


def _task_text(msg: Any) -> str:
    value = msg.get("data") if isinstance(msg, dict) else getattr(msg, "data", msg)
    return str(value)
