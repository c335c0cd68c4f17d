"""Synthetic video recordings edited the way real ones go wrong: started mid-GOP, a corrupt packet, JSON-encoded.

:func:`rewrite_video` copies an MCAP written by ``roboflow synth`` (protobuf foxglove CompressedVideo cameras)
message by message with the ``mcap`` library, letting a function drop or change the packets of one topic.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path

from mcap.reader import make_reader
from mcap.writer import Writer
from mcap_protobuf.decoder import DecoderFactory

#: ``edit(k, packet) -> packet`` for message k of the topic; None drops the message.
Edit = Callable[[int, bytes], bytes | None]


def rewrite_video(source: Path, target: Path, topic: str, edit: Edit, *, as_json: bool = False) -> None:
    """Copy ``source`` to ``target`` with the packets of ``topic`` passed through ``edit`` (JSON: foxglove's JSON
    encoding of CompressedVideo, ``data`` in base64)."""
    with source.open("rb") as stream, target.open("wb") as out:
        reader = make_reader(stream)
        writer = Writer(out)
        writer.start(profile=reader.get_header().profile, library="roboflow-tests")
        decoders = DecoderFactory()
        schemas: dict[int, int] = {}
        channels: dict[int, int] = {}
        k = 0
        for schema, channel, message in reader.iter_messages(log_time_order=False):
            video = channel.topic == topic
            if channel.id not in channels:
                if video and as_json:
                    schema_id = writer.register_schema("foxglove.CompressedVideo", "jsonschema", b"{}")
                else:
                    assert schema is not None
                    schema_id = schemas.get(schema.id) or writer.register_schema(schema.name, schema.encoding,
                                                                                 schema.data)
                    schemas[schema.id] = schema_id
                encoding = "json" if video and as_json else channel.message_encoding
                channels[channel.id] = writer.register_channel(channel.topic, encoding, schema_id)
            data = message.data
            if video:
                decode = decoders.decoder_for(channel.message_encoding, schema)
                assert decode is not None
                decoded = decode(message.data)
                packet = edit(k, bytes(decoded.data))
                k += 1
                if packet is None:
                    continue
                if as_json:
                    stamp = decoded.timestamp
                    data = json.dumps({"timestamp": {"sec": stamp.seconds, "nsec": stamp.nanos},
                                       "frame_id": decoded.frame_id, "format": decoded.format,
                                       "data": base64.b64encode(packet).decode()}).encode()
                else:
                    decoded.data = packet
                    data = decoded.SerializeToString()
            writer.add_message(channels[channel.id], message.log_time, data, message.publish_time)
        writer.finish()
