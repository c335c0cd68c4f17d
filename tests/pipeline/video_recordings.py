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


def write_foxglove_sdk_like(path: Path, seconds: float = 1.0, cameras: tuple[str, ...] = ("front", "wrist")) -> None:
    """An MCAP as the Foxglove SDK writes it: h264 protobuf CompressedVideo cameras (128x96, 30 fps, camera i shows
    pattern camera i) and JSON state (``/robot/state``: ``joint_positions`` [3], ``gripper``) and action (``/robot/action``: ``target`` [3]) at 50 Hz; the values at log time t are ``[t, 2t, 3t]``,
    ``t / 10`` and ``[-t, -2t, -3t]``."""
    from roboflow.synth.video import PacketEncoder, foxglove_video, serialize_protobuf_fields

    start = 1_700_000_000_000_000_000
    frames, samples = round(seconds * 30), round(seconds * 50)
    with path.open("wb") as out:
        writer = Writer(out)
        writer.start(profile="", library="foxglove-sdk-like")
        name, descriptors = foxglove_video()
        video_schema = writer.register_schema(name, "protobuf", descriptors)
        json_schema = writer.register_schema("robot.State", "jsonschema", b'{"type": "object"}')
        events: list[tuple[int, int, bytes]] = []
        for i, camera in enumerate(cameras):
            channel = writer.register_channel(f"/{camera}/video", "protobuf", video_schema)
            encoder = PacketEncoder("h264", 128, 96, i, 10, frames)
            for k in range(frames):
                t = start + k * 1_000_000_000 // 30 + 1000 * i
                events.append((t, channel, serialize_protobuf_fields(t, camera, encoder.packet(k)[0], "h264")))
        state = writer.register_channel("/robot/state", "json", json_schema)
        action = writer.register_channel("/robot/action", "json", json_schema)
        for k in range(samples):
            t = start + k * 20_000_000 + 500
            s = (t - start) / 1e9
            events.append((t, state, json.dumps({"joint_positions": [s, 2 * s, 3 * s], "gripper": s / 10}).encode()))
            events.append((t + 1, action, json.dumps({"target": [-s, -2 * s, -3 * s]}).encode()))
        for t, channel, data in sorted(events):
            writer.add_message(channel, t, data, t)
        writer.finish()
