"""What a dataset holds: features, their info.json block, the parquet schema of its rows, write settings.

A :class:`DatasetSpec` is the one description every writer, merger and validator shares. Its
:func:`info_features` is the ``features`` block of ``meta/info.json`` exactly as lerobot writes it (identical in
v2.1 and v3.0), and :func:`data_schema` the arrow schema of the data rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from roboflow.errors import ConfigError, DatasetError
from roboflow.media.settings import VideoSettings

__all__ = [
    "DEFAULT_FEATURES",
    "INDEX_COLUMNS",
    "CameraFeature",
    "DatasetSpec",
    "FlushSettings",
    "VectorFeature",
    "VideoSettings",
    "data_schema",
    "info_features",
    "vector_type",
]

#: The columns lerobot adds to every dataset, in its order, with their info.json entries.
DEFAULT_FEATURES: dict[str, dict[str, Any]] = {
    "timestamp": {"dtype": "float32", "shape": [1], "names": None},
    "frame_index": {"dtype": "int64", "shape": [1], "names": None},
    "episode_index": {"dtype": "int64", "shape": [1], "names": None},
    "index": {"dtype": "int64", "shape": [1], "names": None},
    "task_index": {"dtype": "int64", "shape": [1], "names": None},
}
#: The integer columns of :data:`DEFAULT_FEATURES`.
INDEX_COLUMNS = ("frame_index", "episode_index", "index", "task_index")

_IMAGE_NAMES = ["height", "width", "channels"]


def _check_key(key: str) -> None:
    if not key or "/" in key:
        raise DatasetError(f"feature name {key!r} must be non-empty and must not contain '/'")
    if key in DEFAULT_FEATURES:
        raise DatasetError(f"feature name {key!r} is reserved for lerobot's own column")


@dataclass(frozen=True, slots=True)
class VectorFeature:
    """A float32 vector column (state, action, ...).

    Args:
        key: Feature name, e.g. ``observation.state``.
        names: One name per element, e.g. the joint names; the vector's length is ``len(names)``.
    """

    key: str
    names: tuple[str, ...]

    def __post_init__(self) -> None:
        _check_key(self.key)
        object.__setattr__(self, "names", tuple(self.names))
        if not self.names:
            raise DatasetError(f"vector feature {self.key!r} has no element names")

    @property
    def size(self) -> int:
        """Number of elements."""
        return len(self.names)


@dataclass(frozen=True, slots=True)
class CameraFeature:
    """A camera stored as an mp4 video.

    Args:
        key: Feature name, e.g. ``observation.images.front``.
        height: Frame height in pixels (even: yuv420p halves it).
        width: Frame width in pixels (even).
        channels: 3 for RGB input; 1 for 8-bit grayscale input, which is stored as a 3-channel video
            (info.json shape ``[H, W, 3]``, stats with three equal channels).
        is_depth: Depth cameras are refused: lerobot 0.3/0.4 decode every video to 8-bit RGB, so 16-bit depth
            cannot be stored without loss. Kept so a spec can state it and fail before any work is done.
        passthrough: Frames come as encoded video packets (:class:`~roboflow.media.packets.VideoPacket`), copied
            into the mp4 where the episode allows it.

    Raises:
        DatasetError: Bad name or size, unsupported channel count, or a depth camera.
    """

    key: str
    height: int
    width: int
    channels: int = 3
    is_depth: bool = False
    passthrough: bool = False

    def __post_init__(self) -> None:
        _check_key(self.key)
        if self.is_depth:
            raise DatasetError(
                f"camera {self.key!r} is a depth camera; LeRobot videos decode to 8-bit RGB, so 16-bit depth "
                "cannot be stored losslessly",
                hint="leave the depth topic out of the mapping or convert it to 8-bit grayscale before writing",
            )
        if self.channels not in (1, 3):
            raise DatasetError(f"camera {self.key!r} has {self.channels} channels; only 3 (RGB) or 1 (gray)")
        if self.height < 2 or self.width < 2 or self.height % 2 or self.width % 2:
            raise DatasetError(
                f"camera {self.key!r} is {self.width}x{self.height}; yuv420p video needs even width and height"
            )

    @property
    def shape(self) -> tuple[int, int, int]:
        """Shape of the stored (decoded) frames: ``(height, width, 3)``."""
        return (self.height, self.width, 3)


@dataclass(frozen=True, slots=True)
class DatasetSpec:
    """Everything that must match between episodes of one dataset.

    Args:
        fps: Frames per second of the timeline and of every video.
        robot_type: Free text for info.json (``robot_type``), or None.
        vectors: Vector features, in column order.
        cameras: Camera features, in info.json order (after the vectors).

    Raises:
        DatasetError: A bad fps, or duplicate feature keys.
    """

    fps: int
    robot_type: str | None = None
    vectors: tuple[VectorFeature, ...] = ()
    cameras: tuple[CameraFeature, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "vectors", tuple(self.vectors))
        object.__setattr__(self, "cameras", tuple(self.cameras))
        if isinstance(self.fps, bool) or not isinstance(self.fps, int) or self.fps < 1:
            raise DatasetError(f"fps must be a positive integer, got {self.fps!r}")
        features: tuple[VectorFeature | CameraFeature, ...] = (*self.vectors, *self.cameras)
        keys = [feature.key for feature in features]
        duplicates = sorted({key for key in keys if keys.count(key) > 1})
        if duplicates:
            raise DatasetError(f"feature keys appear twice: {', '.join(duplicates)}")

    @property
    def keys(self) -> tuple[str, ...]:
        """Keys a frame passed to the episode writer must have: vectors, then cameras."""
        return tuple(vector.key for vector in self.vectors) + tuple(camera.key for camera in self.cameras)


@dataclass(frozen=True, slots=True)
class FlushSettings:
    """The ``[flushing]`` config table: how much an episode writer may hold in memory.

    Args:
        max_frames_per_chunk: Rows buffered before they are written out as one parquet row group.
        max_memory_bytes: Upper bound for buffered rows plus frames queued for the video encoders.

    Raises:
        ConfigError: A value below 1.
    """

    max_frames_per_chunk: int = 1000
    max_memory_bytes: int = 2 * 1024**3

    def __post_init__(self) -> None:
        if self.max_frames_per_chunk < 1:
            raise ConfigError(
                f"flushing max_frames_per_chunk must be at least 1, got {self.max_frames_per_chunk}"
            )
        if self.max_memory_bytes < 1:
            raise ConfigError(f"flushing max_memory_bytes must be at least 1, got {self.max_memory_bytes}")


def info_features(
    spec: DatasetSpec, video_info: Mapping[str, Mapping[str, Any]]
) -> dict[str, dict[str, Any]]:
    """The ``features`` block of ``meta/info.json``.

    Args:
        spec: The dataset spec.
        video_info: Camera key -> the ``info`` block read from its real stream
            (:func:`roboflow.media.video_info`).

    Raises:
        DatasetError: A camera has no video info.
    """
    features: dict[str, dict[str, Any]] = {
        vector.key: {"dtype": "float32", "shape": [vector.size], "names": list(vector.names)}
        for vector in spec.vectors
    }
    for camera in spec.cameras:
        if camera.key not in video_info:
            raise DatasetError(f"no video info for camera {camera.key!r}")
        features[camera.key] = {
            "dtype": "video",
            "shape": list(camera.shape),
            "names": list(_IMAGE_NAMES),
            "info": dict(video_info[camera.key]),
        }
    for key, feature in DEFAULT_FEATURES.items():
        features[key] = {**feature, "shape": list(feature["shape"])}
    return features


def vector_type(size: int) -> pa.DataType:
    """Parquet column type of a float32 vector of ``size`` elements, as lerobot stores it.

    lerobot writes (and loads) every feature of shape ``[1]`` as a plain scalar column, so a one-element
    vector is ``float32``; longer ones are ``fixed_size_list<float32>[N]``. info.json keeps ``shape [1]``.
    """
    return pa.float32() if size == 1 else pa.list_(pa.float32(), size)


def data_schema(spec: DatasetSpec) -> pa.Schema:
    """Arrow schema of the data rows: vectors (:func:`vector_type`), then the default columns."""
    fields = [pa.field(vector.key, vector_type(vector.size)) for vector in spec.vectors]
    fields.append(pa.field("timestamp", pa.float32()))
    fields.extend(pa.field(name, pa.int64()) for name in INDEX_COLUMNS)
    return pa.schema(fields)
