"""``roboflow merge SHARD... -o OUT``: merge LeRobot datasets into one."""

from __future__ import annotations

import json

import click

__all__ = ["merge"]


@click.command("merge")
@click.argument("shards", nargs=-1, required=True)
@click.option("-o", "--output", "out", required=True, help="Directory or storage URL of the merged dataset.")
@click.option(
    "--format",
    "format_",
    type=click.Choice(["v3.0", "v2.1"]),
    default="v3.0",
    show_default=True,
    help="Version of the merged dataset.",
)
@click.option("--overwrite", is_flag=True, help="Replace the output directory if it holds files.")
@click.option(
    "--images-to-video",
    is_flag=True,
    help="Encode image features (pictures in the rows) into videos (libx264); default: keep them as images.",
)
@click.option("--data-file-mb", type=float, default=None, help="v3.0: start a new data file at this size.")
@click.option("--video-file-mb", type=float, default=None, help="v3.0: start a new video file at this size.")
@click.option(
    "--provenance",
    "provenance_json",
    default=None,
    help="JSON object stored at the top of the output's meta/roboflow.json.",
)
def merge(
    shards: tuple[str, ...],
    out: str,
    format_: str,
    overwrite: bool,
    images_to_video: bool,
    data_file_mb: float | None,
    video_file_mb: float | None,
    provenance_json: str | None,
) -> None:
    """Merge the datasets SHARDS, in the order given, into one dataset.

    SHARDS and the output are directories or storage URLs (s3://bucket/prefix, oss://bucket/prefix;
    endpoints and credentials from the environment). Shards may be v3.0 or v2.1 and must share fps,
    robot type and features. Episodes are renumbered in shard order; videos are joined without re-encoding.
    To convert a dataset between versions, merge it alone: ``roboflow merge DS -o OUT --format v2.1``.
    """
    from roboflow.errors import ConfigError
    from roboflow.lerobot.assemble import FileLimits
    from roboflow.lerobot.layout import DEFAULT_DATA_FILE_SIZE_IN_MB, DEFAULT_VIDEO_FILE_SIZE_IN_MB
    from roboflow.lerobot.merge import merge_datasets
    from roboflow.media.settings import VideoSettings

    provenance = None
    if provenance_json is not None:
        try:
            provenance = json.loads(provenance_json)
        except json.JSONDecodeError as err:
            raise ConfigError(f"--provenance is not JSON: {err}") from err
        if not isinstance(provenance, dict):
            raise ConfigError("--provenance must be a JSON object")
    limits = FileLimits(
        data_files_size_in_mb=data_file_mb or DEFAULT_DATA_FILE_SIZE_IN_MB,
        video_files_size_in_mb=video_file_mb or DEFAULT_VIDEO_FILE_SIZE_IN_MB,
    )
    result = merge_datasets(
        list(shards),
        out,
        format=format_,
        limits=limits,
        provenance=provenance,
        overwrite=overwrite,
        images_to_video=VideoSettings() if images_to_video else None,
    )
    info = result.info
    click.echo(
        f"{out}: {info['codebase_version']} dataset, {info['total_episodes']} episodes, "
        f"{info['total_frames']} frames, {info['total_tasks']} tasks from {len(shards)} shards"
    )
