"""``image`` features: camera frames kept in the data rows as PNG or JPEG bytes (``dtype: "image"``).

lerobot writes such a feature as a ``struct<bytes: binary, path: string>`` column (the ``datasets`` Image
type) and, for lerobot 0.3.x to load it back as images, names it in the parquet file's ``huggingface``
schema metadata. Here: decoding a cell, the feature's stats as lerobot computes them (the episode's sampled
frames, as for a video), and that metadata built from info.json's features.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import pyarrow as pa

from roboflow.errors import ConfigError, DatasetError, SourceError
from roboflow.features.images import ImageDecoder
from roboflow.lerobot.rows import RowSlice, read_rows
from roboflow.lerobot.stats import (
    FeatureStats,
    image_stats_from_counts,
    level_counts,
    pixel_stride,
    sample_indices,
)

__all__ = [
    "IMAGE_TYPE",
    "hf_schema_metadata",
    "image_keys",
    "image_stats_of_rows",
    "iter_images",
]

#: The parquet type of an ``image`` feature.
IMAGE_TYPE = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
#: Rows of images decoded at a time.
_IMAGE_BATCH_ROWS = 64


def image_keys(features: Mapping[str, Any]) -> list[str]:
    """The ``image`` features, in info.json order."""
    return [key for key, feature in features.items() if feature.get("dtype") == "image"]


def iter_images(rows: RowSlice, key: str, where: str) -> Iterator[np.ndarray]:
    """The pictures of column ``key`` in ``rows``, in order, each as ``(H, W, 3)`` uint8 RGB (gray pictures
    repeated, as PIL's ``convert("RGB")`` in lerobot's loader).

    Raises:
        DatasetError: A cell is empty or holds no decodable PNG or JPEG.
    """
    number = 0
    decoder = ImageDecoder(f"{where} {key}", "sensor_msgs/msg/CompressedImage")
    for batch in read_rows(rows, columns=[key], batch_rows=_IMAGE_BATCH_ROWS):
        for cell in batch.column(0).to_pylist():
            data = None if cell is None else cell.get("bytes")
            if not data:
                raise DatasetError(f"{key} frame {number}: no picture bytes in the row", path=where)
            try:
                image = decoder({"data": data, "format": ""}, 0)
            except (SourceError, ConfigError) as err:
                raise DatasetError(
                    f"{key} frame {number}: unreadable picture ({err.message})", path=where
                ) from err
            yield np.repeat(image[:, :, None], 3, axis=2) if image.ndim == 2 else image
            number += 1


def image_stats_of_rows(rows: RowSlice, key: str, where: str) -> FeatureStats:
    """lerobot's image stats of one episode's pictures: sampled frames, pixel stride, per channel, [0, 1]."""
    sampled = set(sample_indices(rows.length))
    counts: np.ndarray | None = None
    for number, image in enumerate(iter_images(rows, key, where)):
        if number in sampled:
            stride = pixel_stride(image.shape[0], image.shape[1])
            levels = level_counts(image[::stride, ::stride])
            counts = levels if counts is None else counts + levels
    if counts is None:
        raise DatasetError(f"no pictures in column {key!r}", path=where)
    return image_stats_from_counts(counts, len(sampled))


def hf_schema_metadata(features: Mapping[str, Any]) -> dict[bytes, bytes]:
    """The ``huggingface`` parquet schema metadata of lerobot's data files, for the columns of ``features``.

    lerobot 0.3.x loads data files with ``datasets`` and no features of its own, so an image column is read
    as pictures only when this metadata says it is an ``Image``.
    """
    described: dict[str, Any] = {}
    for key, feature in features.items():
        dtype, shape = feature["dtype"], list(feature["shape"])
        if dtype == "video":
            continue
        if dtype == "image":
            described[key] = {"_type": "Image"}
        elif shape == [1]:
            described[key] = {"dtype": dtype, "_type": "Value"}
        elif len(shape) > 1:  # lerobot's Array2D..Array5D
            described[key] = {"shape": shape, "dtype": dtype, "_type": f"Array{len(shape)}D"}
        else:
            described[key] = {
                "feature": {"dtype": dtype, "_type": "Value"},
                "length": shape[0],
                "_type": "Sequence",
            }
    return {b"huggingface": json.dumps({"info": {"features": described}}).encode()}
