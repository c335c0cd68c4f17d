"""Schema-driven message decoding.

``decoder_for(channel)`` returns a function from a raw payload to a message object, chosen from
:data:`DECODERS` by the channel's message encoding and cached per channel:

* ``cdr`` / ``ros1``: rosbags message objects (attribute access; numeric arrays such as ``uint8[]``
  are numpy arrays viewing the payload, never copied element by element), typed from the
  definitions embedded in the recording (see :mod:`roboflow.decode.ros`);
* ``protobuf``: protobuf messages built from the recording's FileDescriptorSet;
* ``json``: dicts and lists;
* ``rerun-arrow``: dicts of Rerun components (see :mod:`roboflow.sources.rrd`).

``get_field(message, "pose.position.x")`` reads a field path from any of them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from functools import lru_cache

from roboflow.decode.fields import get_field
from roboflow.errors import SourceError
from roboflow.sources.base import Channel, Schema

__all__ = ["DECODERS", "Decoder", "decoder_for", "get_field", "unsupported_reason"]

Decoder = Callable[[bytes | memoryview], object]

#: message encoding -> "module:factory"; a factory takes a Channel and returns a Decoder.
DECODERS: dict[str, str] = {
    "cdr": "roboflow.decode.ros:ros_decoder",
    "ros1": "roboflow.decode.ros:ros_decoder",
    "protobuf": "roboflow.decode.protobuf:protobuf_decoder",
    "json": "roboflow.decode.jsonmsg:json_decoder",
    "rerun-arrow": "roboflow.decode.rerun:arrow_decoder",
}


def unsupported_reason(channel: Channel) -> str | None:
    """Why ``channel`` cannot be decoded in principle (None when it can be tried)."""
    if channel.schema is None and channel.message_encoding != "json":
        return f"schemaless {channel.message_encoding!r} channel: the recording does not say how to decode it"
    if channel.message_encoding not in DECODERS:
        known = ", ".join(sorted(DECODERS))
        return f"unsupported message encoding {channel.message_encoding!r} (roboflow decodes {known})"
    return None


def decoder_for(channel: Channel) -> Decoder:
    """The decoder for ``channel``'s messages (cached per encoding, schema and distro hint).

    Raises:
        SourceError: The channel cannot be decoded (unsupported encoding, no schema, unknown type).
            Errors carry no path; callers that know the recording add it.
    """
    from roboflow.decode.ros import DISTRO_KEY

    return _decoder(channel.message_encoding, channel.schema, channel.metadata.get(DISTRO_KEY, ""), channel)


@lru_cache(maxsize=1024)
def _decoder(encoding: str, schema: Schema | None, distro: str, channel: Channel) -> Decoder:
    reason = unsupported_reason(channel)
    if reason is not None:
        raise SourceError(f"cannot decode {channel.topic}: {reason}", hint=_hint(channel))
    module_name, factory_name = DECODERS[encoding].split(":")
    factory: Callable[[Channel], Decoder] = getattr(importlib.import_module(module_name), factory_name)
    return factory(channel)


def _hint(channel: Channel) -> str:
    if channel.schema is None:
        return "read the raw payloads with Source.messages() instead of decoding them"
    return "re-record with a standard serialization (cdr, ros1, protobuf or json)"
