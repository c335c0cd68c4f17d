"""Feature statistics as lerobot computes them, per episode and aggregated over episodes.

Follows ``lerobot/datasets/compute_stats.py`` (0.4.x, the release that writes v3.0):

* numeric features: reduced over frames, shape ``(D,)`` (``(1,)`` for scalar columns), population std;
* images: ``sample_indices`` frames (``max(min(100, n), min(int(n**0.75), 10000))`` evenly spaced), pixels
  subsampled with stride ``int(longer_side / 150)`` when the longer side is >= 300, per channel, divided by 255,
  shape ``(C, 1, 1)``, ``count`` = number of sampled frames;
* quantiles q01, q10, q50, q90, q99 from a 5000-bin histogram spanning ``[min - 1e-10, max + 1e-10]`` with
  linear interpolation inside the bin (lerobot's ``RunningQuantileStats``); fewer than 2 values give
  quantiles equal to the mean;
* aggregation: min of mins, max of maxes, count-weighted mean, pooled variance, summed count, and quantiles
  as the count-weighted mean of the episodes' quantiles (lerobot 0.4.x; later releases take an envelope).

Everything is computed in float64 (lerobot keeps float32 inputs in float32; the difference is rounding).
Moments are merged with Chan's parallel formulas, so a column can be summarised from row-group batches in
two passes (moments, then histogram) with memory bounded by one batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from roboflow.errors import DatasetError

__all__ = [
    "NUM_QUANTILE_BINS",
    "QUANTILES",
    "QUANTILE_KEYS",
    "STAT_KEYS",
    "FeatureStats",
    "Stats",
    "aggregate_stats",
    "column_values",
    "estimate_num_samples",
    "feature_stats",
    "flatten_stats",
    "image_stats",
    "image_stats_from_counts",
    "level_counts",
    "parquet_stats",
    "pixel_stride",
    "sample_indices",
    "spaced_indices",
    "stats_from_json",
    "stats_to_json",
    "unflatten_stats",
]

QUANTILES = (0.01, 0.10, 0.50, 0.90, 0.99)
QUANTILE_KEYS = tuple(f"q{round(q * 100):02d}" for q in QUANTILES)
STAT_KEYS = ("min", "max", "mean", "std", "count", *QUANTILE_KEYS)
NUM_QUANTILE_BINS = 5000
_EDGE_PAD = 1e-10

#: ``{"min": array, "max": ..., "count": array([n]), "q01": ...}`` for one feature.
FeatureStats = dict[str, np.ndarray]
#: Feature key -> its stats.
Stats = dict[str, FeatureStats]


def estimate_num_samples(
    length: int, min_samples: int = 100, max_samples: int = 10_000, power: float = 0.75
) -> int:
    """How many frames of an episode of ``length`` frames image stats look at (lerobot's heuristic)."""
    min_samples = min(min_samples, length)
    return max(min_samples, min(int(length**power), max_samples))


def sample_indices(length: int) -> list[int]:
    """The frame indices image stats are computed from: evenly spaced, rounded."""
    return spaced_indices(length, estimate_num_samples(length))


def spaced_indices(length: int, count: int) -> list[int]:
    """``count`` evenly spaced indices of ``range(length)``, rounded (distinct when ``count <= length``)."""
    return [int(i) for i in np.round(np.linspace(0, length - 1, count)).astype(int)]


def pixel_stride(height: int, width: int, target: int = 150, threshold: int = 300) -> int:
    """Pixel subsampling step for image stats: 1 below ``threshold``, else ``int(longer_side / target)``."""
    if max(height, width) < threshold:
        return 1
    return int(max(height, width) / target)


class _Moments:
    """Count, min, max, mean and sum of squared deviations of (rows, D) batches, merged exactly."""

    def __init__(self) -> None:
        self.count = 0
        self.minimum: np.ndarray | None = None
        self.maximum: np.ndarray | None = None
        self.mean: np.ndarray | None = None
        self.m2: np.ndarray | None = None

    def update(self, batch: np.ndarray) -> None:
        rows = batch.shape[0]
        if rows == 0:
            return
        batch_mean = batch.mean(axis=0)
        batch_m2 = ((batch - batch_mean) ** 2).sum(axis=0)
        if (
            self.count == 0
            or self.mean is None
            or self.m2 is None
            or self.minimum is None
            or self.maximum is None
        ):
            self.minimum, self.maximum = batch.min(axis=0), batch.max(axis=0)
            self.mean, self.m2 = batch_mean, batch_m2
        else:
            total = self.count + rows
            delta = batch_mean - self.mean
            self.mean = self.mean + delta * (rows / total)
            self.m2 = self.m2 + batch_m2 + delta**2 * (self.count * rows / total)
            self.minimum = np.minimum(self.minimum, batch.min(axis=0))
            self.maximum = np.maximum(self.maximum, batch.max(axis=0))
        self.count += rows


def _binnable(low: float, high: float) -> bool:
    """Whether ``[low, high]`` holds NUM_QUANTILE_BINS distinct bins (numpy refuses the histogram otherwise).

    A constant column is padded by ``_EDGE_PAD``; from a value of a few hundred on (an ``episode_index`` of a
    large dataset) that padding is too narrow for 5000 distinct float64 edges.
    """
    edges = np.linspace(low, high, NUM_QUANTILE_BINS + 1)
    return bool(np.all(edges[:-1] < edges[1:]))


def _histogram(values: np.ndarray, low: float, high: float, weights: np.ndarray | None = None) -> np.ndarray:
    # bins=int with a range takes numpy's uniform fast path; its edges equal lerobot's linspace edges.
    hist, _ = np.histogram(values, bins=NUM_QUANTILE_BINS, range=(low, high), weights=weights)
    return hist.astype(np.float64)


def _quantile(hist: np.ndarray, edges: np.ndarray, target: float) -> float:
    """lerobot's ``_compute_single_quantile``: interpolate inside the bin where the cumsum reaches target."""
    cumsum = np.cumsum(hist)
    idx = int(np.searchsorted(cumsum, target))
    if idx == 0:
        return float(edges[0])
    if idx >= len(cumsum):
        return float(edges[-1])
    before = cumsum[idx - 1]
    in_bin = cumsum[idx] - before
    if in_bin == 0:
        return float(edges[idx])
    return float(edges[idx] + (target - before) / in_bin * (edges[idx + 1] - edges[idx]))


def _finish(
    moments: _Moments, count: int, histograms: Callable[[np.ndarray, np.ndarray], np.ndarray]
) -> FeatureStats:
    """Turn moments (and the histograms of a second pass) into a FeatureStats of shape (D,)."""
    assert moments.minimum is not None and moments.maximum is not None
    assert moments.mean is not None and moments.m2 is not None
    low = moments.minimum.astype(np.float64) - _EDGE_PAD
    high = moments.maximum.astype(np.float64) + _EDGE_PAD
    stats: FeatureStats = {
        "min": moments.minimum.astype(np.float64),
        "max": moments.maximum.astype(np.float64),
        "mean": moments.mean.astype(np.float64),
        "std": np.sqrt(np.maximum(moments.m2 / moments.count, 0.0)),
        "count": np.array([count], dtype=np.int64),
    }
    if moments.count < 2:
        for key in QUANTILE_KEYS:
            stats[key] = stats["mean"].copy()
        return stats
    hist = histograms(low, high)
    quantiles = np.empty((len(QUANTILES), low.size))
    for dim in range(low.size):
        if not _binnable(low[dim], high[dim]):  # a constant column too large for the padding to register
            quantiles[:, dim] = stats["min"][dim]
            continue
        edges = np.linspace(low[dim], high[dim], NUM_QUANTILE_BINS + 1)
        for row, q in enumerate(QUANTILES):
            quantiles[row, dim] = _quantile(hist[dim], edges, q * moments.count)
    for row, key in enumerate(QUANTILE_KEYS):
        stats[key] = quantiles[row]
    return stats


def _as_rows(batch: np.ndarray) -> np.ndarray:
    array = np.asarray(batch, dtype=np.float64)
    return array.reshape(len(array), -1) if array.ndim != 2 else array


def _stream_stats(batches: Callable[[], Iterable[np.ndarray]]) -> FeatureStats:
    """Stats of a column delivered as batches by ``batches()``, called twice (moments, then histograms)."""
    moments = _Moments()
    for batch in batches():
        moments.update(_as_rows(batch))
    if moments.count == 0:
        raise DatasetError("cannot compute stats of an empty column")

    def histograms(low: np.ndarray, high: np.ndarray) -> np.ndarray:
        hist = np.zeros((low.size, NUM_QUANTILE_BINS))
        for batch in batches():
            rows = _as_rows(batch)
            for dim in range(low.size):
                if _binnable(low[dim], high[dim]):
                    hist[dim] += _histogram(rows[:, dim], low[dim], high[dim])
        return hist

    return _finish(moments, moments.count, histograms)


def feature_stats(values: np.ndarray) -> FeatureStats:
    """Stats of a numeric feature over one episode.

    Args:
        values: ``(n,)`` for a scalar column (stats of shape ``(1,)``) or ``(n, D)`` for a vector (``(D,)``).
    """
    array = np.asarray(values)
    return _stream_stats(lambda: [array])


def level_counts(frames: np.ndarray) -> np.ndarray:
    """How often each 8-bit level occurs per channel: ``(C, 256)`` int64 of ``(..., C)`` uint8 pixels.

    Counts add up: the counts of a set of frames are the sum of their counts, which is how the episode
    writer gets image stats without keeping frames.
    """
    array = np.asarray(frames)
    if array.dtype != np.uint8 or array.ndim < 2:
        raise DatasetError(f"level counts need (..., C) uint8 pixels, got {array.dtype} {array.shape}")
    pixels = array.reshape(-1, array.shape[-1])
    return np.stack([np.bincount(pixels[:, c], minlength=256) for c in range(pixels.shape[1])]).astype(
        np.int64
    )


def image_stats(frames: np.ndarray) -> FeatureStats:
    """Stats of the sampled frames of one camera.

    Args:
        frames: ``(k, h, w, C)`` uint8, already sampled (:func:`sample_indices`) and pixel-subsampled
            (:func:`pixel_stride`), channel last.

    Returns:
        Per-channel stats in [0, 1] of shape ``(C, 1, 1)``; ``count`` is ``[k]``.
    """
    array = np.asarray(frames)
    if array.ndim != 4 or array.dtype != np.uint8 or array.shape[0] == 0:
        raise DatasetError(f"image stats need (k, h, w, C) uint8 frames, got {array.dtype} {array.shape}")
    return image_stats_from_counts(level_counts(array), array.shape[0])


def image_stats_from_counts(counts: np.ndarray, frames: int) -> FeatureStats:
    """:func:`image_stats` of ``frames`` sampled frames whose pixels have these :func:`level_counts`."""
    weights = np.asarray(counts, dtype=np.float64)
    channels = weights.shape[0]
    if weights.ndim != 2 or weights.shape[1] != 256 or frames < 1 or not (weights.sum(axis=1) > 0).all():
        raise DatasetError(
            f"image stats need (C, 256) level counts of at least one pixel, got {weights.shape}"
        )
    levels = np.arange(256, dtype=np.float64)
    present = weights > 0
    moments = _Moments()
    moments.count = int(weights[0].sum())
    moments.minimum = np.array([levels[row].min() for row in present])
    moments.maximum = np.array([levels[row].max() for row in present])
    moments.mean = (weights * levels).sum(axis=1) / moments.count
    moments.m2 = (weights * (levels - moments.mean[:, None]) ** 2).sum(axis=1)

    def histograms(low: np.ndarray, high: np.ndarray) -> np.ndarray:
        return np.stack([_histogram(levels, low[c], high[c], weights=weights[c]) if _binnable(low[c], high[c])
                         else np.zeros(NUM_QUANTILE_BINS) for c in range(channels)])

    stats = _finish(moments, frames, histograms)
    return {
        key: value if key == "count" else (value / 255.0).reshape(channels, 1, 1)
        for key, value in stats.items()
    }


def parquet_stats(path: Path, columns: Sequence[str], batch_rows: int = 65536) -> Stats:
    """Stats of numeric columns of a parquet file, two streaming passes per column.

    Scalar columns give shape ``(1,)``, ``fixed_size_list`` columns ``(N,)``. Memory is one batch.

    Raises:
        DatasetError: The file cannot be read or a column is missing or empty.
    """
    try:
        parquet = pq.ParquetFile(path)
        missing = [column for column in columns if column not in parquet.schema_arrow.names]
        if missing:
            raise DatasetError(f"cannot compute stats: no column {', '.join(missing)}", path=str(path))
        result: Stats = {}
        for column in columns:

            def batches(column: str = column) -> Iterable[np.ndarray]:
                for batch in parquet.iter_batches(batch_size=batch_rows, columns=[column]):
                    yield column_values(batch.column(0))

            result[column] = _stream_stats(batches)
        return result
    except (OSError, pa.ArrowException, KeyError) as err:
        raise DatasetError(f"cannot compute stats: {err}", path=str(path)) from err


def column_values(array: pa.Array) -> np.ndarray:
    """A numeric parquet column as numpy: ``(n,)`` for a scalar column (a shape-[1] feature, such as a
    one-element vector), ``(n, N)`` for a ``fixed_size_list<N>`` column."""
    if pa.types.is_fixed_size_list(array.type):
        size = array.type.list_size
        # The child values of these rows, not flatten(): that imports pyarrow.compute (~13 MB of RSS). They
        # differ only for null rows, which flatten drops (and the reshape fails, as it should).
        flat = array.flatten() if array.null_count else array.values.slice(array.offset * size, len(array) * size)
        return np.asarray(flat.to_numpy(zero_copy_only=False)).reshape(len(array), size)
    return np.asarray(array.to_numpy(zero_copy_only=False))


def _check_shapes(stats_list: Sequence[Mapping[str, Mapping[str, np.ndarray]]]) -> None:
    """lerobot's ``_assert_type_and_shape``."""
    for stats in stats_list:
        for feature, values in stats.items():
            for key, value in values.items():
                if not isinstance(value, np.ndarray) or value.ndim == 0:
                    raise DatasetError(f"stats {feature}/{key} must be an array of at least one dimension")
                if key == "count" and value.shape != (1,):
                    raise DatasetError(f"stats {feature}/count must have shape (1,), has {value.shape}")
                if "image" in feature and key != "count" and value.shape not in ((3, 1, 1), (1, 1, 1)):
                    raise DatasetError(f"stats {feature}/{key} must have shape (3, 1, 1), has {value.shape}")


def _aggregate_feature(items: Sequence[Mapping[str, np.ndarray]]) -> FeatureStats:
    means = np.stack([np.asarray(s["mean"], dtype=np.float64) for s in items])
    variances = np.stack([np.asarray(s["std"], dtype=np.float64) ** 2 for s in items])
    counts = np.stack([np.asarray(s["count"]) for s in items])
    total = counts.sum(axis=0)
    weights = counts.astype(np.float64)
    while weights.ndim < means.ndim:
        weights = np.expand_dims(weights, axis=-1)
    mean = (means * weights).sum(axis=0) / total
    variance = ((variances + (means - mean) ** 2) * weights).sum(axis=0) / total
    result: FeatureStats = {
        "min": np.min(np.stack([s["min"] for s in items]), axis=0).astype(np.float64),
        "max": np.max(np.stack([s["max"] for s in items]), axis=0).astype(np.float64),
        "mean": mean,
        "std": np.sqrt(variance),
        "count": total.astype(np.int64),
    }
    for key in QUANTILE_KEYS:
        if all(key in s for s in items):
            values = np.stack([np.asarray(s[key], dtype=np.float64) for s in items])
            result[key] = (values * weights).sum(axis=0) / total
    return result


def aggregate_stats(stats_list: Sequence[Mapping[str, Mapping[str, np.ndarray]]]) -> Stats:
    """Combine per-episode (or per-dataset) stats into one, as lerobot 0.4's ``aggregate_stats``.

    Features present in only some inputs are aggregated over those; the result's features are sorted.

    Raises:
        DatasetError: No input, or stats of the wrong shape.
    """
    if not stats_list:
        raise DatasetError("no stats to aggregate")
    _check_shapes(stats_list)
    keys = sorted({key for stats in stats_list for key in stats})
    return {key: _aggregate_feature([stats[key] for stats in stats_list if key in stats]) for key in keys}


def stats_to_json(stats: Mapping[str, Mapping[str, np.ndarray]]) -> dict[str, dict[str, Any]]:
    """Nested lists for ``stats.json`` / ``episodes_stats.jsonl``; stat keys in lerobot's order."""
    return {
        feature: {key: np.asarray(values[key]).tolist() for key in STAT_KEYS if key in values}
        for feature, values in stats.items()
    }


def stats_from_json(data: Mapping[str, Mapping[str, Any]]) -> Stats:
    """Inverse of :func:`stats_to_json`: ``count`` as int64, every other stat as float64."""
    return {
        feature: {
            key: np.asarray(value, dtype=np.int64 if key == "count" else np.float64)
            for key, value in values.items()
        }
        for feature, values in data.items()
    }


def flatten_stats(
    stats: Mapping[str, Mapping[str, np.ndarray]], prefix: str = "stats"
) -> dict[str, np.ndarray]:
    """``{"stats/<feature>/<stat>": array}``, the column names of v3.0's ``meta/episodes`` parquet."""
    return {
        f"{prefix}/{feature}/{key}": np.asarray(values[key])
        for feature, values in stats.items()
        for key in STAT_KEYS
        if key in values
    }


def unflatten_stats(flat: Mapping[str, Any], prefix: str = "stats") -> Stats:
    """Inverse of :func:`flatten_stats`; keys without ``prefix/`` are ignored. Feature names may contain dots."""
    result: Stats = {}
    for name, value in flat.items():
        head, _, rest = name.partition("/")
        if head != prefix or "/" not in rest:
            continue
        feature, _, key = rest.rpartition("/")
        result.setdefault(feature, {})[key] = np.asarray(
            value, dtype=np.int64 if key == "count" else np.float64
        )
    return result
