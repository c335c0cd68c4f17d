"""JSON message decoding (MCAP ``json`` channels, with or without a jsonschema)."""

from __future__ import annotations

import json
from collections.abc import Callable

from roboflow.errors import SourceError, one_line
from roboflow.sources.base import Channel

__all__ = ["json_decoder"]


def json_decoder(channel: Channel) -> Callable[[bytes | memoryview], object]:
    """A decoder returning the parsed JSON value (dicts, lists, numbers, strings)."""

    def decoder(data: bytes | memoryview) -> object:
        try:
            return json.loads(bytes(data))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise SourceError(
                f"cannot decode a message on {channel.topic} as JSON: {one_line(err)}",
                hint="the payload is not valid UTF-8 JSON; the recording may be damaged",
            ) from err

    return decoder
