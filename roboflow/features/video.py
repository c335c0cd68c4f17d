"""Camera topics recorded as video: one stateful decoder per topic, fed every packet in order, on its own thread.

Types: foxglove ``CompressedVideo`` (protobuf, JSON, ROS 1/2 ``foxglove_msgs``; ``format`` names the codec),
``ffmpeg_image_transport_msgs/FFMPEGPacket`` (``encoding`` names the FFmpeg encoder) and
``sensor_msgs/CompressedImage`` whose ``format`` is a video codec. Delta frames need their references, so the
decoder sees every message of the topic, also those between dataset frames; the image of a message is the frame
decoded from it. Messages before the first keyframe yield no image (counted). A corrupt packet (FFmpeg fails, or
flags the frame corrupt) is one warning line with topic and time, that frame yields no image and decoding
resumes at the next keyframe; under ``strict`` it is an error. Frames leave as ``av.VideoFrame`` (YUV, half the
size of RGB); the plan converts to RGB only the frames the dataset uses.

With ``passthrough`` (and a codec lerobot decodes) nothing is decoded but the first keyframe (for the frame
size): each message from the first keyframe on leaves as a :class:`~roboflow.media.packets.VideoPacket` that the
episode writer copies, or decodes from its GOP when it cannot. Corrupt packets are not detected then.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import av
import numpy as np

from roboflow.errors import SourceError
from roboflow.features.images import _bytes, _get
from roboflow.features.types import RERUN_VIDEO, normalise_type
from roboflow.media.bitstream import DECODERS, codec_of, is_keyframe
from roboflow.media.packets import PASSTHROUGH_CODECS, GopDecoder, VideoPacket, open_decoder
from roboflow.sources.base import RawMessage

__all__ = ["DECODE_AHEAD", "VideoCounts", "VideoDecoder", "video_packet"]

log = logging.getLogger(__name__)

#: Packets a topic's decoder may run ahead of the aligner.
DECODE_AHEAD = 8
_FFMPEG_PACKET = "ffmpeg_image_transport_msgs/msg/FFMPEGPacket"


@dataclass(slots=True)
class VideoCounts:
    """What the decoder of one topic saw (per episode, reset by :meth:`VideoDecoder.take_counts`)."""

    codec: str | None = None
    packets: int = 0
    frames: int = 0
    before_keyframe: int = 0  #: packets before the first keyframe (no image)
    corrupt: int = 0  #: packets that failed to decode
    after_corrupt: int = 0  #: packets skipped until the keyframe after a corrupt one

    def to_dict(self) -> dict[str, Any]:
        return {"codec": self.codec, "packets": self.packets, "frames": self.frames,
                "before_keyframe": self.before_keyframe, "corrupt": self.corrupt,
                "after_corrupt": self.after_corrupt}


def _stamp(msg: Any) -> int | None:
    """The capture time of a video message in ns: ``header.stamp`` or CompressedVideo's ``timestamp`` (ROS
    ``sec``/``nanosec``, protobuf ``seconds``/``nanos``, JSON ``sec``/``nsec``)."""
    header = _get(msg, "header")
    stamp = _get(header, "stamp") if header is not None else _get(msg, "timestamp")
    if stamp is None:
        return None
    for seconds, nanos in (("sec", "nanosec"), ("seconds", "nanos"), ("sec", "nsec"), ("secs", "nsecs")):
        sec = _get(stamp, seconds)
        if sec is not None:
            return int(sec) * 1_000_000_000 + int(_get(stamp, nanos, 0) or 0)
    return None


def video_packet(msg: Any, type_name: str) -> tuple[str | None, bytes]:
    """The codec (None: not a video codec) and the packet bytes of a decoded video message (empty: a Rerun
    ``VideoStream`` row without a sample)."""
    if RERUN_VIDEO in type_name.split("+"):
        fourcc, sample = _get(msg, f"{RERUN_VIDEO}:codec"), _get(msg, f"{RERUN_VIDEO}:sample")
        name = int(np.asarray(fourcc).reshape(-1)[0]).to_bytes(4, "big").decode("latin-1") if fourcc is not None else ""
        return codec_of(name), _bytes(sample).tobytes() if sample is not None else b""
    name = _get(msg, "encoding" if normalise_type(type_name) == _FFMPEG_PACKET else "format", "")
    return codec_of(str(name)), _bytes(_get(msg, "data")).tobytes()


#: A decoded sample: (time, log time, frame).
Decoded = tuple[int, int, Any]


class VideoDecoder:
    """Decodes one video topic: :meth:`push` every message of the topic in order, :meth:`drain` at the end.

    Args:
        topic: Topic name, for messages.
        type_name: The message type.
        decode: Decodes a raw message into a message object (the plan's decoder, run on this thread).
        strict: A corrupt packet is an error instead of a warning.
        passthrough: Hand out packets (:class:`VideoPacket`) instead of decoded frames, when the codec allows.
    """

    def __init__(self, topic: str, type_name: str, decode: Callable[[RawMessage], Any], *, strict: bool = False,
                 passthrough: bool = False) -> None:
        self.topic = topic
        self.passthrough = passthrough
        self._gop: list[bytes] = []
        self._size: tuple[int, int] | None = None
        self._messages = 0  #: messages seen over the whole topic (numbers the packets)
        self.type_name = type_name
        self._decode = decode
        self._strict = strict
        self._pool: ThreadPoolExecutor | None = None
        self._pending: deque[tuple[int | None, int, Future[tuple[Any, int | None]]]] = deque()
        self._context: Any = None
        self._codec: str | None = None
        self._need_keyframe = True
        self._seen_keyframe = False
        self.counts = VideoCounts()

    def push(self, raw: RawMessage, time: int | None) -> list[Decoded]:
        """Queue one message for decoding; returns the samples that are decoded by now, in order.

        ``time`` places the message on the timeline; None: the message's own capture stamp (CompressedVideo's
        ``timestamp``), or its log time when it has none.
        """
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix=f"video {self.topic}")
        self._pending.append((time, raw.log_time, self._pool.submit(self._frame, raw)))
        return self._ready(wait=len(self._pending) > DECODE_AHEAD)

    def drain(self) -> list[Decoded]:
        """Every sample still decoding, in order."""
        return self._ready(wait=True, everything=True)

    def take_counts(self) -> VideoCounts:
        """The counts so far, and start counting anew (per episode)."""
        counts, self.counts = self.counts, VideoCounts(codec=self._codec)
        return counts

    def close(self) -> None:
        """Stop the thread (idempotent)."""
        self._pending.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _ready(self, *, wait: bool, everything: bool = False) -> list[Decoded]:
        out: list[Decoded] = []
        while self._pending and (everything or wait or self._pending[0][2].done()):
            time, log_time, future = self._pending.popleft()
            wait = False
            frame, stamp = future.result()
            if frame is not None:
                out.append((time if time is not None else stamp if stamp is not None else log_time, log_time, frame))
        return out

    def _frame(self, raw: RawMessage) -> tuple[Any, int | None]:
        """Decode one packet (on the topic's thread, in order): the frame (None: no image) and the message's
        capture stamp (None: it has none)."""
        msg = self._decode(raw)
        return self._packet(msg, raw), _stamp(msg)

    def _packet(self, msg: Any, raw: RawMessage) -> Any:
        codec, data = video_packet(msg, self.type_name)
        if not data:
            return None  # a row that logs no sample (only a VideoStream's codec or opacity, say)
        self.counts.packets += 1
        self._messages += 1
        if codec is None or codec not in DECODERS:
            raise SourceError(f"{self.topic} at t={raw.log_time / 1e9:.6f} s: the packet's format is not a "
                              "video codec roboflow decodes", hint=f"supported: {', '.join(DECODERS)}")
        if self._context is None or codec != self._codec:
            self._open(codec)
        key = is_keyframe(codec, data)
        if self._need_keyframe:
            if not key:
                if self._seen_keyframe:
                    self.counts.after_corrupt += 1
                else:
                    self.counts.before_keyframe += 1
                return None
            self._need_keyframe = False
            self._seen_keyframe = True
        if self.passthrough and codec in PASSTHROUGH_CODECS:
            return self._copy(codec, data, key)
        try:
            frames = self._context.decode(av.Packet(data))
            frame = frames[-1] if frames else None
            if frame is not None and frame.is_corrupt:
                raise av.InvalidDataError(0, "the decoder flagged the frame corrupt")
        except av.FFmpegError as err:
            return self._corrupt(raw, len(data), err)
        if frame is not None:
            self.counts.frames += 1
        return frame

    def _copy(self, codec: str, data: bytes, key: bool) -> VideoPacket:
        if key:
            self._gop = []
        self._gop.append(data)
        packet = VideoPacket(self._messages - 1, codec, key, 0, 0, self._gop, len(self._gop) - 1)
        if self._size is None:
            frame = GopDecoder().decode(packet)
            self._size = (frame.width, frame.height)
        self.counts.frames += 1
        return VideoPacket(packet.seq, codec, key, *self._size, self._gop, packet.position)

    def _corrupt(self, raw: RawMessage, size: int, err: Exception) -> None:
        where = f"{self.topic} at t={raw.log_time / 1e9:.6f} s"
        if self._strict:
            raise SourceError(f"{where}: corrupt video packet ({size} bytes): {err}",
                              hint="the recording is damaged; without --strict such frames are left out")
        log.warning("%s: corrupt video packet (%d bytes), frame left out until the next keyframe", where, size)
        self.counts.corrupt += 1
        self._need_keyframe = True

    def _open(self, codec: str) -> None:
        self._codec = self.counts.codec = codec
        self._context = open_decoder(codec)
        self._need_keyframe = True
