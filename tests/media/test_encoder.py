"""VideoEncoder and EncoderThread: exact timestamps per codec, no dropped frames, errors, abort."""

from __future__ import annotations

import threading
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from roboflow.errors import DatasetError
from roboflow.media.encoder import TIME_BASE_MULTIPLIER, VideoEncoder
from roboflow.media.frames import PixelLayout, to_video_frame
from roboflow.media.probe import video_frame_count, video_info
from roboflow.media.settings import VideoSettings
from roboflow.media.worker import EncoderThread
from roboflow.synth.truth import decode_pattern, render_frame

WIDTH, HEIGHT = 64, 48


def pattern(k: int) -> av.VideoFrame:
    return to_video_frame(render_frame(k, WIDTH, HEIGHT), PixelLayout.RGB)


def decode(path: Path) -> tuple[Fraction, list[int], list[int]]:
    """Time base, pts and the frame number read from each decoded picture."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.time_base is not None
        pts: list[int] = []
        numbers: list[int] = []
        for decoded in container.decode(stream):
            assert decoded.pts is not None
            pts.append(decoded.pts)
            numbers.append(decode_pattern(decoded.to_ndarray(format="rgb24")).frame)
        return Fraction(stream.time_base), pts, numbers


@pytest.mark.parametrize(
    ("settings", "canonical"),
    [
        (VideoSettings(codec="libx264", preset="ultrafast"), "h264"),
        (VideoSettings(codec="libx264", preset="ultrafast", gop=None), "h264"),  # x264 defaults: B-frames
        (VideoSettings(codec="hevc", preset="ultrafast"), "hevc"),
        (VideoSettings(codec="libsvtav1", preset="13"), "av1"),
    ],
    ids=["x264", "x264-bframes", "hevc", "svtav1"],
)
@pytest.mark.parametrize("fps", [30, 15])
def test_frame_k_is_shown_at_k_over_fps(
    tmp_path: Path, settings: VideoSettings, canonical: str, fps: int
) -> None:
    path = tmp_path / "out.mp4"
    encoder = VideoEncoder(path, width=WIDTH, height=HEIGHT, fps=fps, settings=settings)
    for k in range(14):
        encoder.encode(pattern(k))
    assert encoder.close() == 14
    assert encoder.close() == 14  # idempotent
    time_base, pts, numbers = decode(path)
    assert time_base == Fraction(1, fps * TIME_BASE_MULTIPLIER)
    assert pts == [k * TIME_BASE_MULTIPLIER for k in range(14)]
    assert numbers == list(range(14))
    assert video_frame_count(path) == 14
    data = path.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")  # faststart: the index before the media data
    info = video_info(path)
    assert (info["video.codec"], info["video.fps"], info["video.pix_fmt"]) == (canonical, fps, "yuv420p")


def test_abort_deletes_the_file(tmp_path: Path) -> None:
    encoder = VideoEncoder(
        tmp_path / "a.mp4",
        width=WIDTH,
        height=HEIGHT,
        fps=10,
        settings=VideoSettings(codec="libsvtav1", preset="13"),
    )
    encoder.encode(pattern(0))
    encoder.abort()
    encoder.abort()
    assert not (tmp_path / "a.mp4").exists()


def test_unwritable_path_is_a_dataset_error(tmp_path: Path) -> None:
    with pytest.raises(
        DatasetError, match=r"missing/a.mp4: cannot create video: its directory does not exist"
    ):
        VideoEncoder(
            tmp_path / "missing" / "a.mp4", width=WIDTH, height=HEIGHT, fps=10, settings=VideoSettings()
        )


def fast_encoder(path: Path, cls: type[VideoEncoder] = VideoEncoder) -> VideoEncoder:
    """A WIDTHxHEIGHT, 10 fps x264 (ultrafast) encoder of class ``cls`` writing ``path``."""
    return cls(
        path, width=WIDTH, height=HEIGHT, fps=10, settings=VideoSettings(codec="libx264", preset="ultrafast")
    )


class SlowEncoder(VideoEncoder):
    """A real encoder that takes its time (a loaded machine), to fill the queue."""

    def encode(self, frame: av.VideoFrame) -> None:
        time.sleep(0.005)
        super().encode(frame)


def test_thread_blocks_instead_of_dropping(tmp_path: Path) -> None:
    encoder = fast_encoder(tmp_path / "s.mp4", SlowEncoder)
    thread = EncoderThread(encoder, queue_frames=2, name="cam")
    started = time.perf_counter()
    for k in range(40):
        thread.put(pattern(k))
    assert time.perf_counter() - started > 0.1  # the producer waited for the encoder
    assert thread.wait() == 40
    _, pts, numbers = decode(tmp_path / "s.mp4")
    assert numbers == list(range(40)) and len(pts) == 40


class FailingEncoder(VideoEncoder):
    """Fails at frame 5, like an encoder running out of memory (cannot be provoked for real here)."""

    def encode(self, frame: av.VideoFrame) -> None:
        if self.frames == 5:
            raise MemoryError("simulated")
        super().encode(frame)


def test_thread_error_surfaces_in_the_producer(tmp_path: Path) -> None:
    encoder = fast_encoder(tmp_path / "f.mp4", FailingEncoder)
    thread = EncoderThread(encoder, queue_frames=1, name="observation.images.front")
    with pytest.raises(
        DatasetError, match=r"camera observation.images.front: encoder failed: MemoryError\('simulated'\)"
    ):
        for k in range(200):
            thread.put(pattern(k))
    with pytest.raises(DatasetError, match="encoder failed"):
        thread.wait()
    assert not (tmp_path / "f.mp4").exists()


def test_thread_abort_while_the_queue_is_full(tmp_path: Path) -> None:
    encoder = fast_encoder(tmp_path / "a.mp4", SlowEncoder)
    thread = EncoderThread(encoder, queue_frames=3, name="cam")
    for k in range(6):
        thread.put(pattern(k))
    thread.end()
    thread.abort()
    thread.abort()
    assert not (tmp_path / "a.mp4").exists()
    assert not any(t.name == "encoder:cam" for t in threading.enumerate())
    with pytest.raises(DatasetError, match="after the end"):
        thread.put(pattern(0))


def test_cameras_encode_in_parallel_threads(tmp_path: Path) -> None:
    threads = [
        EncoderThread(fast_encoder(tmp_path / f"{c}.mp4"), queue_frames=4, name=str(c)) for c in range(3)
    ]
    frame = np.zeros((HEIGHT, WIDTH, 3), dtype=np.uint8)
    for k in range(20):
        for thread in threads:
            frame[:] = k * 10  # the caller reuses its buffer: every frame was copied
            thread.put(to_video_frame(frame, PixelLayout.RGB))
    assert [thread.wait() for thread in threads] == [20, 20, 20]
    with av.open(str(tmp_path / "2.mp4")) as container:
        means = [float(f.to_ndarray(format="rgb24").mean()) for f in container.decode(video=0)]
    assert np.allclose(means, [k * 10 for k in range(20)], atol=3)
