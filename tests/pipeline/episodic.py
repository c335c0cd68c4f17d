"""Recordings of several episodes (stretches of synth recording with gaps between them), for resume tests."""

from __future__ import annotations

from pathlib import Path

from mcap.reader import make_reader
from mcap.writer import Writer
from pipeline.pipeline_readback import CAMERAS

from roboflow.synth import SynthSpec

NS = 1_000_000_000
SEGMENTS = 3


def segments(seed: int, duration_s: float = 3.0) -> list[SynthSpec]:
    """Three stretches of recording, 5 s apart or more: three episodes when split at 1 s gaps."""
    start = SynthSpec().start_time_ns
    return [SynthSpec(duration_s=duration_s, cameras=CAMERAS, seed=seed * 10 + k, start_time_ns=start + k * 6 * NS)
            for k in range(SEGMENTS)]


def concatenate(pieces: list[Path], out: Path, metadata: dict[str, str] | None = None) -> None:
    """One MCAP holding the messages of ``pieces`` (whose times do not overlap), in order, and a ``metadata``
    record when given (its size grows one byte per character: it pads the file to a wanted size)."""
    with out.open("wb") as stream:
        writer = Writer(stream)
        writer.start()
        schemas: dict[str, int] = {}
        channels: dict[str, int] = {}
        for piece in pieces:
            with piece.open("rb") as source:
                for schema, channel, message in make_reader(source).iter_messages(log_time_order=True):
                    if channel.topic not in channels:
                        assert schema is not None
                        if schema.name not in schemas:
                            schemas[schema.name] = writer.register_schema(schema.name, schema.encoding, schema.data)
                        channels[channel.topic] = writer.register_channel(
                            channel.topic, channel.message_encoding, schemas[schema.name], channel.metadata)
                    writer.add_message(channels[channel.topic], message.log_time, message.data, message.publish_time,
                                       message.sequence)
        if metadata is not None:
            writer.add_metadata("padding", metadata)
        writer.finish()
