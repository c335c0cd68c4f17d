"""Stamps and log times: the documented formulas, bounded jitter, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from roboflow.errors import ConfigError
from roboflow.synth import CameraSpec, SynthSpec, stream_times
from roboflow.synth.timeline import LATENCY_NS, StreamKind, streams, time_blocks

SPEC = SynthSpec(duration_s=3.0, jitter=0.3, seed=3, cameras=(CameraSpec("a", width=64, height=48),))


def test_streams_in_order_with_types() -> None:
    assert [(s.topic, s.kind, s.msgtype, s.count) for s in streams(SPEC)] == [
        ("/a/image_raw/compressed", StreamKind.JPEG, "sensor_msgs/msg/CompressedImage", 90),
        ("/joint_states", StreamKind.JOINTS, "sensor_msgs/msg/JointState", 600),
        ("/action", StreamKind.ACTION, "std_msgs/msg/Float64MultiArray", 150),
    ]


@pytest.mark.parametrize("stream", streams(SPEC), ids=lambda s: s.topic)
def test_stamps_and_logs_follow_the_formula(stream: object) -> None:
    stamps, logs = stream_times(SPEC, stream.topic)  # type: ignore[attr-defined]
    period = 1e9 / stream.rate_hz  # type: ignore[attr-defined]
    nominal = SPEC.start_time_ns + np.round(np.arange(len(stamps)) * period).astype(np.int64)
    jitter = stamps - nominal
    assert 0 <= jitter.min() and jitter.max() < 0.3 * period
    assert jitter.std() > 0.05 * period  # really jittered
    delay = logs - stamps - LATENCY_NS[stream.kind]  # type: ignore[attr-defined]
    if stream.has_header:  # type: ignore[attr-defined]
        assert 0 <= delay.min() and delay.max() < 0.3 * period and delay.std() > 0
    else:
        assert np.all(delay == 0)
    assert np.all(np.diff(stamps) > 0) and np.all(np.diff(logs) > 0)


def test_blocks_do_not_change_values_and_seeds_do() -> None:
    stream = streams(SPEC)[1]
    whole = np.concatenate([s for s, _ in time_blocks(SPEC, stream, block=10_000)])
    pieces = np.concatenate([s for s, _ in time_blocks(SPEC, stream, block=7)])
    np.testing.assert_array_equal(whole, pieces)
    again = stream_times(SynthSpec(duration_s=3.0, jitter=0.3, seed=3), "/joint_states")[0]
    np.testing.assert_array_equal(whole, again)  # other cameras do not move the joint times
    other = stream_times(SynthSpec(duration_s=3.0, jitter=0.3, seed=4), "/joint_states")[0]
    assert not np.array_equal(whole, other)


def test_no_jitter_gives_the_nominal_grid() -> None:
    stamps, logs = stream_times(SynthSpec(duration_s=1.0, jitter=0.0), "/joint_states")
    assert stamps[:3].tolist() == [SPEC.start_time_ns + k * 5_000_000 for k in range(3)]
    assert np.all(logs - stamps == LATENCY_NS[StreamKind.JOINTS])


def test_unknown_topic() -> None:
    with pytest.raises(ConfigError, match="no topic '/nope'.*topics: /a/image_raw/compressed"):
        stream_times(SPEC, "/nope")
