"""Protobuf decoding from the FileDescriptorSet stored in an MCAP."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcap_protobuf.writer import Writer

from roboflow.decode import decoder_for, get_field
from roboflow.errors import SourceError
from roboflow.sources import open_source
from roboflow.sources.base import Channel, Schema


def _write(path: Path) -> Path:
    from google.protobuf.struct_pb2 import Struct
    from google.protobuf.timestamp_pb2 import Timestamp

    with path.open("wb") as stream, Writer(stream) as writer:
        for k in range(3):
            writer.write_message("/stamp", Timestamp(seconds=100 + k, nanos=5), log_time=k, publish_time=k)
            value = Struct()
            value.update({"gripper": {"opening": 0.25 * k}, "joints": [1.0, 2.0, 3.0]})
            writer.write_message("/struct", value, log_time=k, publish_time=k)
    return path


def test_messages_decode_with_the_stored_descriptors(tmp_path: Path) -> None:
    with open_source(_write(tmp_path / "p.mcap")) as source:
        decoded = [(m.topic, decoder_for(m.channel)(m.data)) for m in source.messages()]
    stamps = [message for topic, message in decoded if topic == "/stamp"]
    assert [get_field(message, "seconds") for message in stamps] == [100, 101, 102]
    structs = [message for topic, message in decoded if topic == "/struct"]
    assert get_field(structs[2], "fields.gripper.struct_value.fields.opening.number_value") == 0.5
    assert get_field(structs[0], "fields.joints.list_value.values[2].number_value") == 3.0


def test_broken_descriptor_set_and_payload(tmp_path: Path) -> None:
    bad = Channel(1, "/x", "protobuf", Schema("pkg.Missing", "protobuf", b"\x0a\x03abc"))
    with pytest.raises(SourceError, match="cannot build protobuf type pkg.Missing"):
        decoder_for(bad)
    with open_source(_write(tmp_path / "p.mcap")) as source:
        channel = next(ch for ch in source.channels if ch.topic == "/stamp")
    with pytest.raises(SourceError, match="cannot decode a message on /stamp as google.protobuf.Timestamp"):
        decoder_for(channel)(b"\xff\xff\xff")
