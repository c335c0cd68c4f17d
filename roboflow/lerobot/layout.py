"""Every on-disk path of a LeRobot dataset, v3.0 and v2.1, as named templates (lerobot's own spelling).

Paths are relative to the dataset root and always use ``/``. The ``DEFAULT_*`` strings are what info.json
records in ``data_path`` / ``video_path``; the functions format them.
"""

from __future__ import annotations

__all__ = [
    "CODEBASE_V21",
    "CODEBASE_V30",
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_DATA_FILE_SIZE_IN_MB",
    "DEFAULT_DATA_PATH",
    "DEFAULT_EPISODES_PATH",
    "DEFAULT_VIDEO_FILE_SIZE_IN_MB",
    "DEFAULT_VIDEO_PATH",
    "INFO_PATH",
    "STATS_PATH",
    "TASKS_PATH",
    "V21_DATA_PATH",
    "V21_EPISODES_PATH",
    "V21_EPISODES_STATS_PATH",
    "V21_TASKS_PATH",
    "V21_VIDEO_PATH",
    "data_path",
    "episode_chunk",
    "episodes_path",
    "next_chunk_file",
    "v21_data_path",
    "v21_video_path",
    "video_path",
]

CODEBASE_V30 = "v3.0"
CODEBASE_V21 = "v2.1"

#: Files per chunk directory (v3.0) / episodes per chunk directory (v2.1).
DEFAULT_CHUNK_SIZE = 1000
#: v3.0 starts a new data file once one reaches this size.
DEFAULT_DATA_FILE_SIZE_IN_MB = 100
#: v3.0 starts a new video file (per camera) once one reaches this size.
DEFAULT_VIDEO_FILE_SIZE_IN_MB = 200

# Both versions.
INFO_PATH = "meta/info.json"

# v3.0.
STATS_PATH = "meta/stats.json"
TASKS_PATH = "meta/tasks.parquet"
_CHUNK_FILE = "chunk-{chunk_index:03d}/file-{file_index:03d}"
DEFAULT_EPISODES_PATH = "meta/episodes/" + _CHUNK_FILE + ".parquet"
DEFAULT_DATA_PATH = "data/" + _CHUNK_FILE + ".parquet"
DEFAULT_VIDEO_PATH = "videos/{video_key}/" + _CHUNK_FILE + ".mp4"

# v2.1.
V21_EPISODES_PATH = "meta/episodes.jsonl"
V21_TASKS_PATH = "meta/tasks.jsonl"
V21_EPISODES_STATS_PATH = "meta/episodes_stats.jsonl"
V21_DATA_PATH = "data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet"
V21_VIDEO_PATH = "videos/chunk-{episode_chunk:03d}/{video_key}/episode_{episode_index:06d}.mp4"


def data_path(chunk_index: int, file_index: int) -> str:
    """v3.0 data file, e.g. ``data/chunk-000/file-003.parquet``."""
    return DEFAULT_DATA_PATH.format(chunk_index=chunk_index, file_index=file_index)


def video_path(video_key: str, chunk_index: int, file_index: int) -> str:
    """v3.0 video file of one camera, e.g. ``videos/observation.images.front/chunk-000/file-000.mp4``."""
    return DEFAULT_VIDEO_PATH.format(video_key=video_key, chunk_index=chunk_index, file_index=file_index)


def episodes_path(chunk_index: int, file_index: int) -> str:
    """v3.0 episodes metadata file, e.g. ``meta/episodes/chunk-000/file-000.parquet``."""
    return DEFAULT_EPISODES_PATH.format(chunk_index=chunk_index, file_index=file_index)


def next_chunk_file(
    chunk_index: int, file_index: int, chunks_size: int = DEFAULT_CHUNK_SIZE
) -> tuple[int, int]:
    """The (chunk, file) after this one: file_index runs 0..chunks_size-1, then the chunk advances."""
    if file_index == chunks_size - 1:
        return chunk_index + 1, 0
    return chunk_index, file_index + 1


def episode_chunk(episode_index: int, chunks_size: int = DEFAULT_CHUNK_SIZE) -> int:
    """v2.1 chunk directory of an episode."""
    return episode_index // chunks_size


def v21_data_path(episode_index: int, chunks_size: int = DEFAULT_CHUNK_SIZE) -> str:
    """v2.1 data file of an episode, e.g. ``data/chunk-000/episode_000007.parquet``."""
    return V21_DATA_PATH.format(
        episode_chunk=episode_chunk(episode_index, chunks_size), episode_index=episode_index
    )


def v21_video_path(video_key: str, episode_index: int, chunks_size: int = DEFAULT_CHUNK_SIZE) -> str:
    """v2.1 video of one camera and episode, e.g. ``videos/chunk-000/<key>/episode_000007.mp4``."""
    return V21_VIDEO_PATH.format(
        episode_chunk=episode_chunk(episode_index, chunks_size),
        video_key=video_key,
        episode_index=episode_index,
    )
