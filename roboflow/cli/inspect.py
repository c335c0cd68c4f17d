"""``roboflow inspect PATH_OR_DIR... [--json]``: format, time range and topics of recordings.

A path that is a recording file or a rosbag2 bag directory is inspected; any other directory is
searched recursively for recordings. Each unreadable recording prints one line
``roboflow: error: <file>: <what> (<hint>)`` on stderr, and the command exits with status 2 if any
failed (the others are still shown).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import click

from roboflow.errors import SourceError
from roboflow.sources import RecordingInfo, find_recordings, inspect_recording, is_rosbag2_dir

__all__ = ["info_to_dict", "inspect"]


@click.command("inspect")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list, one object per recording.")
@click.pass_context
def inspect(ctx: click.Context, paths: tuple[Path, ...], as_json: bool) -> None:
    """Show format, duration, start/end time and topics (type, encoding, count, rate, image facts).

    PATH_OR_DIR is a recording (.mcap, .bag, .rrd, a rosbag2 directory) or a directory to search.
    """
    recordings: list[Path] = []
    errors: list[SourceError] = []
    for path in paths:
        if path.is_dir() and not is_rosbag2_dir(path):
            found = find_recordings(path)
            if not found:
                errors.append(SourceError("no recordings found in this directory", path=str(path),
                                          hint="roboflow reads .mcap, .bag, .rrd files and rosbag2 directories"))
            recordings.extend(found)
        else:
            recordings.append(path)
    infos: list[RecordingInfo] = []
    for recording in recordings:
        try:
            infos.append(inspect_recording(recording))
        except SourceError as err:
            errors.append(err)
    if len(errors) == 1 and not infos:
        raise errors[0]
    if as_json:
        click.echo(json.dumps([info_to_dict(info) for info in infos], indent=2))
    else:
        click.echo("\n\n".join(_text(info) for info in infos))
    for error in errors:
        click.echo(f"roboflow: error: {error}", err=True)
    if errors:
        ctx.exit(2)


def info_to_dict(info: RecordingInfo) -> dict[str, object]:
    """The JSON form of a RecordingInfo (times in integer nanoseconds and ISO 8601 UTC)."""
    return {
        "path": info.path,
        "format": info.format,
        "start_time": info.start_time,
        "end_time": info.end_time,
        "start": _iso(info.start_time),
        "end": _iso(info.end_time),
        "duration_s": info.duration_s,
        "message_count": info.message_count,
        "topics": [
            {
                "topic": topic.topic,
                "type": topic.type,
                "message_encoding": topic.message_encoding,
                "message_count": topic.message_count,
                "frequency_hz": topic.frequency_hz,
                "image": topic.image,
                "log_range": topic.log_range,
                "header_range": topic.header_range,
            }
            for topic in info.topics
        ],
        "notes": list(info.notes),
    }


def _iso(nanoseconds: int | None) -> str | None:
    if nanoseconds is None:
        return None
    seconds, rest = divmod(nanoseconds, 1_000_000_000)
    stamp = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{rest:09d}Z"


def _text(info: RecordingInfo) -> str:
    lines = [
        f"path:      {info.path}",
        f"format:    {info.format}",
        f"duration:  {info.duration_s:.3f} s",
        f"start:     {_iso(info.start_time)}",
        f"end:       {_iso(info.end_time)}",
        f"messages:  {info.message_count}",
        f"topics:    {len(info.topics)}",
    ]
    rows = [
        (t.topic, t.type, t.message_encoding, str(t.message_count),
         f"{t.frequency_hz:.2f} Hz" if t.frequency_hz is not None else "-", _image(t.image))
        for t in info.topics
    ]
    widths = [max(len(row[col]) for row in rows) for col in range(5)]
    for row in rows:
        cells = [row[col].ljust(widths[col]) if col < 3 else row[col].rjust(widths[col]) for col in range(5)]
        lines.append(("  " + "  ".join(cells) + ("  " + row[5] if row[5] else "")).rstrip())
    for topic in info.topics:
        if topic.header_range is not None and topic.log_range is not None:
            lines.append(f"header:    {topic.topic}: stamps {_span(topic.header_range)}, logged {_span(topic.log_range)}")
        if topic.image and "error" in topic.image:
            lines.append(f"camera:    cannot decode the first frame: {topic.image['error']}")
    lines.extend(f"note:      {note}" for note in info.notes)
    return "\n".join(lines)


def _span(times: tuple[int, int]) -> str:
    return f"{times[0] / 1e9:.3f}..{times[1] / 1e9:.3f} s"


def _image(image: dict[str, object] | None) -> str:
    if not image:
        return ""
    if "error" in image and image.get("width") is None and not image.get("format"):
        return "[undecodable]"
    undecodable = ", undecodable" if "error" in image else ""
    size = f"{image['width']}x{image['height']}" if image.get("width") is not None else "?x?"
    kind = image.get("encoding") or image.get("format") or "?"
    codec = image.get("codec")
    return f"[{size} {kind}{f' ({codec})' if codec and codec != kind else ''}{undecodable}]"
