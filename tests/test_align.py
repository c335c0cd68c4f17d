from __future__ import annotations

import numpy as np
import pytest

from roboflow.align import NS, Aligner, Frame, StreamSpec, frame_time
from roboflow.config import Policy
from roboflow.errors import SourceError

MS = 1_000_000


def run(aligner: Aligner, samples: list[tuple[int, int, object]]) -> list[Frame]:
    """Push (stream, time_ns, value) samples in time order (log time = time) and finish."""
    frames: list[Frame] = []
    for stream, time, value in sorted(samples, key=lambda s: s[1]):
        frames += aligner.push(stream, time, time, value, size=8)
    return frames + aligner.finish()


def series(stream: int, start: int, period: int, count: int, f=lambda t: float(t)) -> list:
    return [(stream, start + i * period, np.array([f(start + i * period)], np.float32)) for i in range(count)]


def test_frame_times_are_exact_nanoseconds() -> None:
    assert frame_time(0, 3, 30) == 100_000_000
    assert frame_time(10, 1, 30) == 10 + 33_333_333
    assert frame_time(0, 2, 30) == 66_666_667
    assert frame_time(0, 30_000, 30) == 1000 * NS


def test_timeline_runs_from_latest_first_to_earliest_last_sample_with_hold() -> None:
    aligner = Aligner([StreamSpec("joints"), StreamSpec("cam")], fps=10)
    samples = series(0, 0, 5 * MS, 400) + series(1, 37 * MS, 100 * MS, 15)  # joints 0..1.995 s, cam .037..1.437
    frames = run(aligner, samples)
    report = aligner.report()
    assert report.start_ns == 37 * MS and aligner.start == 37 * MS
    assert report.end_ns == 1437 * MS
    assert [f.index for f in frames] == list(range(15))
    for frame in frames:
        t = 37 * MS + frame.index * 100 * MS
        assert frame.time == t
        assert frame.values[0][0] == pytest.approx((t // (5 * MS)) * 5 * MS)  # latest joint sample <= t
        assert frame.values[1][0] == pytest.approx(t)
    assert report.frames_written == 15 and report.frames_dropped == 0
    joints = report.streams[0]
    assert joints.messages == 400 and joints.rate_hz == pytest.approx(200.0)
    assert joints.max_staleness_ms == pytest.approx(2.0)


def test_nearest_picks_the_closer_sample_and_the_earlier_on_a_tie() -> None:
    aligner = Aligner([StreamSpec("a", Policy.NEAREST)], fps=10)
    samples = [(0, t * MS, np.array([t], np.float32)) for t in (0, 40, 60, 150, 190, 300)]
    frames = run(aligner, samples)
    assert [f.values[0][0] for f in frames] == [0, 60, 190, 300]  # t=100: 60 vs 150 -> 60 (40 < 50)
    aligner = Aligner([StreamSpec("a", Policy.NEAREST)], fps=10)
    frames = run(aligner, [(0, t * MS, np.array([t], np.float32)) for t in (0, 50, 150, 200)])
    assert [f.values[0][0] for f in frames] == [0, 50, 200]  # 100: tie 50 / 150 -> earlier


def test_interpolate_reproduces_a_linear_signal() -> None:
    def f(t: float) -> float:
        return 3.0 + 2e-9 * t

    aligner = Aligner([StreamSpec("a", Policy.INTERPOLATE), StreamSpec("b")], fps=30)
    samples = series(0, 0, 7 * MS, 200, f) + series(1, 0, 10 * MS, 130)
    frames = run(aligner, samples)
    assert len(frames) == 39  # 0 .. 1.29 s at 30 fps: floor(1.29*30)+1
    for frame in frames:
        assert frame.values[0].dtype == np.float32
        assert frame.values[0][0] == pytest.approx(f(frame.time), rel=1e-6)


def test_drop_policy_drops_frames_outside_tolerance_and_reports_them() -> None:
    aligner = Aligner([StreamSpec("joints"), StreamSpec("cam", Policy.DROP, tolerance_ns=20 * MS)], fps=10)
    cam_times = [0, 100, 200, 500, 600]  # nothing near 300 and 400
    samples = series(0, 0, 5 * MS, 121) + [(1, t * MS, np.array([t], np.float32)) for t in cam_times]
    frames = run(aligner, samples)
    assert [f.index for f in frames] == [0, 1, 2, 5, 6]
    assert [f.values[1][0] for f in frames] == cam_times
    report = aligner.report()
    assert report.frames_dropped == 2 and report.frames_written == 5
    assert report.streams[1].dropped_frames == 2 and report.streams[0].dropped_frames == 0


def test_hold_with_tolerance_drops_stale_frames() -> None:
    aligner = Aligner([StreamSpec("a", tolerance_ns=150 * MS), StreamSpec("b")], fps=10)
    samples = [(0, t * MS, np.array([t], np.float32)) for t in (0, 100, 400, 500)] + series(1, 0, 50 * MS, 11)
    frames = run(aligner, samples)
    assert [f.index for f in frames] == [0, 1, 2, 4, 5]  # t=300: held sample from 100 is 200 ms old


def test_optional_stream_without_data_gives_none_and_does_not_delay_the_start() -> None:
    aligner = Aligner([StreamSpec("a"), StreamSpec("task", required=False)], fps=10)
    samples = series(0, 0, 50 * MS, 11) + [(1, 250 * MS, "pick")]
    frames = run(aligner, samples)
    assert aligner.start == 0
    assert [f.values[1] for f in frames] == [None, None, None, "pick", "pick", "pick"]


def test_out_of_order_samples_are_ignored_and_counted() -> None:
    aligner = Aligner([StreamSpec("a")], fps=10)
    frames: list[Frame] = []
    for t in (0, 100, 50, 200):
        frames += aligner.push(0, t * MS, t * MS, np.array([t], np.float32))
    frames += aligner.finish()
    assert [f.values[0][0] for f in frames] == [0, 100, 200]
    assert aligner.report().streams[0].out_of_order == 1


def test_frames_are_emitted_while_streaming_not_only_at_the_end() -> None:
    aligner = Aligner([StreamSpec("a"), StreamSpec("b")], fps=10)
    emitted_early = 0
    for stream, t, value in sorted(series(0, 0, 10 * MS, 291) + series(1, 0, 10 * MS, 291), key=lambda s: s[1]):
        emitted_early += len(aligner.push(stream, t, t, value, 8))
    assert emitted_early == 29  # all but the last frame (2.9 s), which needs the end of input
    assert len(aligner.finish()) == 1


def test_a_stalled_required_stream_forces_frames_to_keep_memory_bounded() -> None:
    aligner = Aligner([StreamSpec("a"), StreamSpec("stalled")], fps=10, max_buffer_bytes=10_000)
    frames: list[Frame] = []
    for stream, t, value in sorted(series(0, 0, MS, 5000) + series(1, 0, 100 * MS, 2), key=lambda s: s[1]):
        frames += aligner.push(stream, t, t, value, 1000)
        assert aligner._buffered() <= 10_000 + 1000
    report = aligner.report()
    assert report.frames_forced > 0
    assert frames[-1].values[1][0] == pytest.approx(100 * MS)  # held last value of the stalled stream


def test_a_header_timed_stream_that_never_starts_is_an_error_once_the_buffer_is_full() -> None:
    aligner = Aligner([StreamSpec("a"), StreamSpec("/late", header_time=True)], fps=10, max_buffer_bytes=5000)
    with pytest.raises(SourceError, match="no message on /late"):
        for i in range(100):
            aligner.push(0, i * MS, i * MS, np.zeros(1, np.float32), 100)


def test_a_log_timed_stream_that_has_not_started_keeps_other_buffers_small() -> None:
    aligner = Aligner([StreamSpec("a"), StreamSpec("b")], fps=10, max_buffer_bytes=5000)
    for i in range(1000):  # 1000 samples of 100 bytes on a before b starts: trimmed, no error
        aligner.push(0, i * MS, i * MS, np.full(1, i, np.float32), 100)
    frames = aligner.push(1, 1000 * MS, 1000 * MS, np.zeros(1, np.float32), 100)
    frames += aligner.push(0, 1001 * MS, 1001 * MS, np.full(1, 1001, np.float32), 100)
    frames += aligner.push(1, 1002 * MS, 1002 * MS, np.zeros(1, np.float32), 100)
    assert aligner.start == 1000 * MS
    assert frames[0].values[0][0] == 999


def test_no_frames_when_a_required_stream_has_no_data() -> None:
    aligner = Aligner([StreamSpec("a"), StreamSpec("b")], fps=10)
    assert run(aligner, series(0, 0, MS, 10)) == []
    assert aligner.missing() == ["b"]
    assert aligner.report().frames_written == 0


def test_at_least_one_stream_must_be_required() -> None:
    with pytest.raises(ValueError, match="required"):
        Aligner([StreamSpec("a", required=False)], fps=10)
