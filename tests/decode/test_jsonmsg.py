"""JSON decoding, with a jsonschema or schemaless."""

from __future__ import annotations

import pytest

from roboflow.decode import decoder_for, get_field
from roboflow.errors import SourceError
from roboflow.sources.base import Channel, Schema


def test_json_with_and_without_schema() -> None:
    payload = b'{"pose": {"position": {"x": 1.5}}, "joints": [0.1, 0.2, 0.3]}'
    for schema in (Schema("Pose", "jsonschema", b"{}"), None):
        message = decoder_for(Channel(1, "/pose", "json", schema))(memoryview(payload))
        assert get_field(message, "pose.position.x") == 1.5
        assert get_field(message, "joints[2]") == 0.3


def test_invalid_json_is_a_source_error() -> None:
    with pytest.raises(SourceError, match="cannot decode a message on /pose as JSON"):
        decoder_for(Channel(1, "/pose", "json", None))(b"{not json")


def test_schemaless_text_cannot_be_decoded() -> None:
    with pytest.raises(SourceError, match="schemaless 'text' channel") as caught:
        decoder_for(Channel(1, "/log", "text", None))
    assert "raw payloads" in (caught.value.hint or "")
