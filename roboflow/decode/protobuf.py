"""Protobuf decoding from the FileDescriptorSet a recording stores as the channel's schema."""

from __future__ import annotations

from collections.abc import Callable

from google.protobuf.message import DecodeError
from mcap.exceptions import McapError
from mcap.records import Schema as McapSchema
from mcap_protobuf.decoder import DecoderFactory

from roboflow.errors import SourceError, one_line
from roboflow.sources.base import Channel

__all__ = ["protobuf_decoder"]


def protobuf_decoder(channel: Channel) -> Callable[[bytes | memoryview], object]:
    """A decoder returning protobuf message objects for ``channel``.

    Raises:
        SourceError: The schema is not a usable FileDescriptorSet for the named message type.
    """
    schema = channel.schema
    assert schema is not None  # checked by decoder_for
    record = McapSchema(id=1, name=schema.name, encoding=schema.encoding, data=schema.data)
    try:
        decode = DecoderFactory().decoder_for("protobuf", record)
    except (McapError, DecodeError, TypeError, KeyError) as err:
        raise SourceError(
            f"cannot build protobuf type {schema.name} for {channel.topic}: {one_line(err)}",
            hint="the recording's FileDescriptorSet is incomplete or damaged",
        ) from err
    if decode is None:
        raise SourceError(
            f"channel {channel.topic} is protobuf but its schema encoding is {schema.encoding!r}",
            hint="protobuf channels need a 'protobuf' schema holding a FileDescriptorSet",
        )

    def decoder(data: bytes | memoryview) -> object:
        try:
            return decode(bytes(data) if isinstance(data, memoryview) else data)
        except (McapError, DecodeError) as err:
            raise SourceError(
                f"cannot decode a message on {channel.topic} as {schema.name}: {one_line(err)}",
                hint="the payload does not match its descriptor; the recording may be damaged",
            ) from err

    return decoder
