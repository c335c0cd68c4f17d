"""McapSource on generated files: every layout variant, filtering, damage, streams."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest

from roboflow.errors import SourceError
from roboflow.sources.mcap import McapSource

from .builders import BASE_NS, Msg, image_msg, string_msg, write_json_and_schemaless_mcap, write_mcap

VARIANTS = [
    pytest.param({"compression": "zstd"}, id="chunked-zstd-indexed"),
    pytest.param({"compression": "lz4"}, id="chunked-lz4-indexed"),
    pytest.param({"compression": "none"}, id="chunked-uncompressed-indexed"),
    pytest.param({"index": "chunk"}, id="chunk-index-without-message-index"),
    pytest.param({"index": "none"}, id="chunked-no-index"),
    pytest.param({"index": "none", "summary": False}, id="chunked-no-summary"),
    pytest.param({"chunked": False}, id="unchunked-with-summary"),
    pytest.param({"chunked": False, "index": "none", "summary": False}, id="unchunked-no-summary"),
]


def _shuffled_messages(count: int = 40) -> list[Msg]:
    """Two topics, log times out of order within and across chunks (writers do reorder)."""
    messages = []
    for k in range(count):
        messages.append(Msg("/chatter", BASE_NS + k * 1000, string_msg(f"m{k}")))
        messages.append(Msg("/camera", BASE_NS + k * 1000 + 500, image_msg(BASE_NS + k * 1000 - 7)))
    random.Random(3).shuffle(messages)
    return messages


@pytest.mark.parametrize("options", VARIANTS)
def test_every_layout_yields_all_messages_in_log_time_order(tmp_path: Path, options: dict[str, object]) -> None:
    messages = _shuffled_messages()
    path = write_mcap(tmp_path / "x.mcap", messages, types={"/camera": "sensor_msgs/msg/Image"}, **options)  # type: ignore[arg-type]
    with McapSource(path) as source:
        read = list(source.messages())
        stats = {ch.topic: source.statistics()[ch.id] for ch in source.channels}
    assert [m.log_time for m in read] == sorted(m.log_time for m in messages)
    assert sorted(bytes(m.data) for m in read) == sorted(m.data for m in messages)
    assert stats["/chatter"].message_count == 40
    assert (stats["/camera"].start_time, stats["/camera"].end_time) == (BASE_NS + 500, BASE_NS + 39_500)
    camera = [m for m in read if m.topic == "/camera"]
    assert [m.header_stamp for m in camera] == [m.log_time - 507 for m in camera]
    assert all(m.header_stamp is None for m in read if m.topic == "/chatter")


@pytest.mark.parametrize("options", [{}, {"index": "none", "summary": False}], ids=["indexed", "scanned"])
def test_topic_and_time_filters(tmp_path: Path, options: dict[str, object]) -> None:
    path = write_mcap(tmp_path / "x.mcap", _shuffled_messages(), types={"/camera": "sensor_msgs/msg/Image"}, **options)  # type: ignore[arg-type]
    with McapSource(path) as source:
        chatter = list(source.messages(topics=["/chatter"], start=BASE_NS + 5000, stop=BASE_NS + 9000))
        nothing = list(source.messages(topics=["/no/such/topic"]))
    assert [m.log_time for m in chatter] == [BASE_NS + k * 1000 for k in range(5, 9)]
    assert {m.topic for m in chatter} == {"/chatter"}
    assert nothing == []


class CountingReader(io.BytesIO):
    """A seekable stream that counts the bytes read from it."""

    consumed = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.consumed += len(data)
        return data


def test_unwanted_topics_are_not_read_or_decompressed(tmp_path: Path) -> None:
    """Chunks holding only other topics are skipped by the index: most of the file is never read."""
    images = [Msg("/camera", BASE_NS + k, image_msg(BASE_NS + k, 64, 48)) for k in range(20)]
    text = [Msg("/chatter", BASE_NS + 100 + k, string_msg("x")) for k in range(3)]
    data = write_mcap(tmp_path / "x.mcap", images + text, types={"/camera": "sensor_msgs/msg/Image"},
                      compression="none", chunk_size=4096).read_bytes()
    stream = CountingReader(data)
    with McapSource(stream, name="s3://bucket/x.mcap") as source:
        stream.consumed = 0
        assert len(list(source.messages(topics=["/chatter"]))) == 3
    assert stream.consumed < len(data) // 4


def test_several_channels_per_topic(tmp_path: Path) -> None:
    messages = [Msg("/chatter", BASE_NS + k, string_msg(str(k)), channel=k % 2) for k in range(6)]
    path = write_mcap(tmp_path / "x.mcap", messages, channels_per_topic=2)
    with McapSource(path) as source:
        assert [ch.topic for ch in source.channels] == ["/chatter", "/chatter"]
        assert {ch.metadata["callerid"] for ch in source.channels} == {"/node0", "/node1"}
        read = list(source.messages(topics=["/chatter"]))
    assert [m.log_time for m in read] == [BASE_NS + k for k in range(6)]
    assert [m.channel.id for m in read] == [read[0].channel.id, read[1].channel.id] * 3


def test_schemaless_and_json_channels(tmp_path: Path) -> None:
    with McapSource(write_json_and_schemaless_mcap(tmp_path / "j.mcap")) as source:
        channels = {ch.topic: ch for ch in source.channels}
        assert channels["/log"].schema is None
        assert channels["/log"].message_encoding == "text"
        assert channels["/pose"].schema is not None and channels["/pose"].schema.encoding == "jsonschema"
        assert [bytes(m.data) for m in source.messages(topics=["/log"])] == [b"line 0", b"line 1", b"line 2"]


@pytest.mark.parametrize("options", [{}, {"chunked": False}], ids=["chunked", "unchunked"])
def test_truncated_file_yields_the_messages_before_the_damage_then_fails(tmp_path: Path, options: dict[str, object]) -> None:
    messages = [Msg("/chatter", BASE_NS + k, string_msg(f"message {k:03d}")) for k in range(60)]
    data = write_mcap(tmp_path / "x.mcap", messages, compression="none", chunk_size=512, **options).read_bytes()  # type: ignore[arg-type]
    cut = tmp_path / "cut.mcap"
    cut.write_bytes(data[: len(data) // 2])
    with McapSource(cut) as source:
        read = []
        with pytest.raises(SourceError, match=r"damaged or truncated at byte \d+ .* (\d+) messages before the damage") as caught:
            read.extend(source.messages())  # keeps what was yielded before the error
        assert 10 < len(read) < 60
        assert f"{len(read)} messages before the damage" in str(caught.value)
        assert [bytes(m.data) for m in read] == [m.data for m in messages[: len(read)]]
        with pytest.raises(SourceError, match=f"{len(read)} messages before the damage"):
            source.statistics()


def test_stripped_carriage_returns_are_named(tmp_path: Path) -> None:
    data = write_mcap(tmp_path / "x.mcap", [Msg("/chatter", BASE_NS, string_msg("a"))]).read_bytes()
    stripped = tmp_path / "stripped.mcap"
    stripped.write_bytes(data.replace(b"\r", b""))
    with pytest.raises(SourceError, match="CR bytes of the file were stripped") as caught:
        McapSource(stripped)
    assert "binary mode" in (caught.value.hint or "")


def test_empty_and_foreign_files(tmp_path: Path) -> None:
    (tmp_path / "empty.mcap").write_bytes(b"")
    (tmp_path / "text.mcap").write_bytes(b"hello world, not an mcap")
    with pytest.raises(SourceError, match=r"file is empty \(0 bytes\)"):
        McapSource(tmp_path / "empty.mcap")
    with pytest.raises(SourceError, match="not an MCAP file"):
        McapSource(tmp_path / "text.mcap")
    with pytest.raises(SourceError, match="no such file"):
        McapSource(tmp_path / "missing.mcap")


def test_stream_input_stays_open_and_closed_source_refuses(tmp_path: Path) -> None:
    data = write_mcap(tmp_path / "x.mcap", [Msg("/chatter", BASE_NS + k, string_msg(str(k))) for k in range(3)]).read_bytes()
    stream = io.BytesIO(data)
    source = McapSource(stream, name="oss://bucket/x.mcap")
    assert source.path == "oss://bucket/x.mcap"
    assert len(list(source.messages())) == 3
    source.close()
    source.close()  # idempotent
    assert not stream.closed
    with pytest.raises(SourceError, match="source is closed"):
        list(source.messages())
