"""Stats as lerobot computes them, checked against plain numpy."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from roboflow.errors import DatasetError
from roboflow.lerobot.stats import (
    NUM_QUANTILE_BINS,
    QUANTILE_KEYS,
    QUANTILES,
    aggregate_stats,
    column_values,
    estimate_num_samples,
    feature_stats,
    flatten_stats,
    image_stats,
    image_stats_from_counts,
    level_counts,
    parquet_stats,
    pixel_stride,
    sample_indices,
    stats_from_json,
    stats_to_json,
    unflatten_stats,
)


def assert_histogram_quantiles(stats: dict[str, np.ndarray], values: np.ndarray) -> None:
    """Each quantile lies in the histogram bin of the ceil(q*n)-th smallest value (lerobot's estimator)."""
    rows = values.reshape(len(values), -1).astype(np.float64)
    for dim in range(rows.shape[1]):
        ordered = np.sort(rows[:, dim])
        width = (ordered[-1] - ordered[0] + 2e-10) / NUM_QUANTILE_BINS
        for q, key in zip(QUANTILES, QUANTILE_KEYS, strict=True):
            reference = ordered[max(math.ceil(q * len(ordered)), 1) - 1]
            assert abs(stats[key].ravel()[dim] - reference) <= width + 1e-12, (key, dim)


def test_sample_count_and_indices() -> None:
    expected = {1: 1, 50: 50, 100: 100, 500: 105, 1000: 177, 2000: 299, 5000: 594, 10_000: 1000, 20_000: 1681}
    assert {n: estimate_num_samples(n) for n in expected} == expected
    assert estimate_num_samples(10**7) == 10_000
    assert sample_indices(5) == [0, 1, 2, 3, 4]
    indices = sample_indices(1000)
    assert (len(indices), indices[0], indices[-1]) == (177, 0, 999)
    assert indices == np.round(np.linspace(0, 999, 177)).astype(int).tolist()


def test_pixel_stride() -> None:
    assert pixel_stride(48, 64) == 1
    assert pixel_stride(299, 299) == 1
    assert pixel_stride(480, 640) == 4
    assert pixel_stride(720, 1280) == 8
    assert pixel_stride(640, 480) == 4  # the longer side counts
    assert pixel_stride(300, 10) == 2


def test_vector_stats_match_numpy() -> None:
    values = np.random.default_rng(1).normal(size=(257, 5)).astype(np.float32) * [1, 10, 100, 0.1, 3]
    stats = feature_stats(values)
    assert set(stats) == {"min", "max", "mean", "std", "count", *QUANTILE_KEYS}
    reference = values.astype(np.float64)
    np.testing.assert_array_equal(stats["min"], reference.min(axis=0))
    np.testing.assert_array_equal(stats["max"], reference.max(axis=0))
    np.testing.assert_allclose(stats["mean"], reference.mean(axis=0), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(stats["std"], reference.std(axis=0), rtol=1e-12)
    assert stats["count"].tolist() == [257] and stats["count"].dtype == np.int64
    assert all(stats[key].shape == (5,) for key in stats if key != "count")
    assert_histogram_quantiles(stats, values)


def test_scalar_column_has_shape_one() -> None:
    stats = feature_stats(np.arange(30, dtype=np.int64))
    assert stats["min"].tolist() == [0.0] and stats["max"].tolist() == [29.0]
    assert stats["mean"].tolist() == [14.5]
    assert stats["std"][0] == pytest.approx(np.arange(30).std())
    assert_histogram_quantiles(stats, np.arange(30))


def test_quantile_interpolation_inside_the_bin() -> None:
    stats = feature_stats(np.array([0.0, 1.0]))
    width = (1 + 2e-10) / NUM_QUANTILE_BINS
    assert stats["q50"][0] == pytest.approx(-1e-10, abs=1e-16)  # the cumsum reaches 1 in the first bin
    assert stats["q99"][0] == pytest.approx(1 + 1e-10 - width + 0.98 * width, abs=1e-12)


def test_single_frame_and_constant_columns() -> None:
    one = feature_stats(np.array([[3.0, -1.0]]))
    assert one["std"].tolist() == [0.0, 0.0]
    assert all(one[key].tolist() == [3.0, -1.0] for key in QUANTILE_KEYS)
    constant = feature_stats(np.full(10, 123456789.0))
    assert all(constant[key].tolist() == [123456789.0] for key in QUANTILE_KEYS)
    with pytest.raises(DatasetError, match="empty column"):
        feature_stats(np.empty((0, 3)))


def test_image_stats_per_channel_in_unit_range() -> None:
    frames = np.random.default_rng(2).integers(0, 256, size=(12, 6, 8, 3), dtype=np.uint8)
    frames[..., 2] //= 4
    stats = image_stats(frames)
    pixels = frames.reshape(-1, 3).astype(np.float64)
    assert stats["count"].tolist() == [12]
    for key in ("min", "max", "mean", "std", *QUANTILE_KEYS):
        assert stats[key].shape == (3, 1, 1)
    np.testing.assert_array_equal(stats["min"].ravel(), pixels.min(axis=0) / 255)
    np.testing.assert_array_equal(stats["max"].ravel(), pixels.max(axis=0) / 255)
    np.testing.assert_allclose(stats["mean"].ravel(), pixels.mean(axis=0) / 255, rtol=1e-12)
    np.testing.assert_allclose(stats["std"].ravel(), pixels.std(axis=0) / 255, rtol=1e-12)
    assert_histogram_quantiles({k: v * 255 for k, v in stats.items()}, pixels)
    with pytest.raises(DatasetError, match="uint8"):
        image_stats(frames.astype(np.uint16))


def test_parquet_stats_stream_in_batches(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(101, 4)).astype(np.float32)
    table = pa.table(
        {
            "v": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), 4),
            "t": pa.array((np.arange(101) / 30).astype(np.float32)),
            "i": pa.array(np.arange(101, dtype=np.int64)),
        }
    )
    path = tmp_path / "rows.parquet"
    pq.write_table(table, path, row_group_size=10)
    streamed = parquet_stats(path, ["v", "t", "i"], batch_rows=7)
    for column, values in (
        ("v", vectors),
        ("t", (np.arange(101) / 30).astype(np.float32)),
        ("i", np.arange(101)),
    ):
        whole = feature_stats(values)
        for key in whole:
            np.testing.assert_allclose(streamed[column][key], whole[key], rtol=1e-12, atol=1e-15, err_msg=key)
    with pytest.raises(DatasetError, match="cannot compute stats"):
        parquet_stats(path, ["missing"])


def test_aggregate_pools_episodes() -> None:
    rng = np.random.default_rng(4)
    first, second = rng.normal(size=(40, 3)), rng.normal(loc=2.0, size=(25, 3))
    images = [
        rng.integers(0, 256, size=(5, 4, 4, 3), dtype=np.uint8),
        rng.integers(0, 200, size=(9, 4, 4, 3), dtype=np.uint8),
    ]
    episodes = [
        {"action": feature_stats(first), "observation.images.front": image_stats(images[0])},
        {"action": feature_stats(second), "observation.images.front": image_stats(images[1])},
    ]
    total = aggregate_stats(episodes)
    both = np.concatenate([first, second])
    action = total["action"]
    np.testing.assert_allclose(action["mean"], both.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(action["std"], both.std(axis=0), rtol=1e-12)
    np.testing.assert_array_equal(action["min"], both.min(axis=0))
    np.testing.assert_array_equal(action["max"], both.max(axis=0))
    assert action["count"].tolist() == [65]
    for key in QUANTILE_KEYS:  # lerobot 0.4: count-weighted mean of the episodes' quantiles
        expected = (episodes[0]["action"][key] * 40 + episodes[1]["action"][key] * 25) / 65
        np.testing.assert_allclose(action[key], expected, rtol=1e-12)
    image = total["observation.images.front"]
    assert image["mean"].shape == (3, 1, 1) and image["count"].tolist() == [14]
    weighted = (
        episodes[0]["observation.images.front"]["mean"] * 5
        + episodes[1]["observation.images.front"]["mean"] * 9
    ) / 14
    np.testing.assert_allclose(image["mean"], weighted, rtol=1e-12)
    with pytest.raises(DatasetError, match=r"must have shape \(3, 1, 1\)"):
        aggregate_stats([{"observation.images.front": feature_stats(first)}])
    with pytest.raises(DatasetError, match="no stats"):
        aggregate_stats([])


def test_json_and_flat_round_trips() -> None:
    stats = {
        "action": feature_stats(np.arange(12.0).reshape(4, 3)),
        "observation.images.front": image_stats(np.zeros((2, 2, 2, 3), dtype=np.uint8)),
    }
    encoded = json.loads(json.dumps(stats_to_json(stats)))
    assert list(encoded["action"]) == ["min", "max", "mean", "std", "count", *QUANTILE_KEYS]
    assert encoded["action"]["count"] == [4]
    assert encoded["observation.images.front"]["mean"] == [[[0.0]], [[0.0]], [[0.0]]]
    for restored in (stats_from_json(encoded), unflatten_stats(flatten_stats(stats))):
        assert restored.keys() == stats.keys()
        for feature, values in stats.items():
            for key, value in values.items():
                np.testing.assert_array_equal(restored[feature][key], value)
                assert restored[feature][key].dtype == (np.int64 if key == "count" else np.float64)
    flat = flatten_stats(stats)
    assert "stats/observation.images.front/q99" in flat and "stats/action/count" in flat
    assert unflatten_stats({"episode_index": 0, **flat}).keys() == stats.keys()


def test_level_counts_add_up_to_image_stats() -> None:
    frames = np.random.default_rng(5).integers(0, 256, size=(7, 5, 6, 3), dtype=np.uint8)
    counts = level_counts(frames)
    assert counts.shape == (3, 256) and counts.sum() == frames.size
    np.testing.assert_array_equal(counts[1], np.bincount(frames[..., 1].ravel(), minlength=256))
    per_frame = sum(level_counts(frame) for frame in frames)
    np.testing.assert_array_equal(per_frame, counts)
    direct, summed = image_stats(frames), image_stats_from_counts(per_frame, 7)
    assert direct.keys() == summed.keys()
    for key in direct:
        np.testing.assert_array_equal(direct[key], summed[key])
    with pytest.raises(DatasetError, match="level counts of at least one pixel"):
        image_stats_from_counts(np.zeros((3, 256)), 1)


@pytest.mark.parametrize("value", [181, 999, 15_000, 10**9])
def test_a_constant_column_of_a_large_value_has_stats(value: int) -> None:
    # episode_index of an episode of a large dataset: numpy refused 5000 bins in the padded range (merge of 1,000 shards)
    stats = feature_stats(np.full(15, value, dtype=np.int64))
    for key in ("min", "max", "mean", "q01", "q10", "q50", "q90", "q99"):
        assert stats[key].tolist() == [pytest.approx(value, rel=1e-12)], key
    assert stats["std"].tolist() == [0.0]


def test_column_values_of_a_slice_of_vectors() -> None:
    """Rows of a fixed_size_list column, also of a slice (a batch that starts inside the child array)."""
    rows = np.arange(30, dtype=np.float32).reshape(10, 3)
    array = pa.FixedSizeListArray.from_arrays(pa.array(rows.ravel()), 3)
    np.testing.assert_array_equal(column_values(array), rows)
    np.testing.assert_array_equal(column_values(array.slice(4, 3)), rows[4:7])
    assert column_values(array.slice(9)).shape == (1, 3)
    np.testing.assert_array_equal(column_values(pa.array([1.5, 2.5])), [1.5, 2.5])


def test_column_values_with_null_rows_fail() -> None:
    array = pa.array([[1.0, 2.0], None, [3.0, 4.0]], pa.list_(pa.float64(), 2))
    with pytest.raises(ValueError):
        column_values(array)
