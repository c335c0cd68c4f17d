"""Rerun rows decode to {component: value} with numpy arrays for numeric data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sources.builders import write_rrd

from roboflow.decode import decoder_for, get_field
from roboflow.errors import SourceError
from roboflow.sources import open_source
from roboflow.sources.base import Channel, Schema


@pytest.fixture(scope="module")
def rows(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[object]]:
    path = write_rrd(tmp_path_factory.mktemp("rrd") / "rec.rrd")
    decoded: dict[str, list[object]] = {}
    with open_source(path) as source:
        for message in source.messages():
            decoded.setdefault(message.topic, []).append(decoder_for(message.channel)(message.data))
    return decoded


def test_scalars_images_and_tensors(rows: dict[str, list[object]]) -> None:
    assert [get_field(row, "Scalars:scalars[0]") for row in rows["/joint"]] == [0.0, 0.5, 1.0, 1.5]
    image = rows["/cam"][2]
    assert get_field(image, "Image:format.width") == 8 and get_field(image, "Image:format.height") == 6
    pixels = get_field(image, "Image:buffer")
    assert isinstance(pixels, np.ndarray) and pixels.dtype == np.uint8 and pixels.size == 6 * 8 * 3
    assert set(pixels.tolist()) == {2}
    tensor = get_field(rows["/depth"][3], "Tensor:data")
    np.testing.assert_array_equal(tensor, np.arange(6, dtype=np.float32).reshape(2, 3) * 3)


def test_real_static_urdf_rows(recordings: Path) -> None:
    with open_source(recordings / "foxglove_sdk/so100.rrd") as source:
        asset = next(m for m in source.messages() if "Base.stl" in m.topic and "Asset3D" in m.channel.schema.name)  # type: ignore[union-attr]
        row = decoder_for(asset.channel)(asset.data)
    assert get_field(row, "Asset3D:media_type") == "model/stl"
    assert get_field(row, "Asset3D:blob").size > 100_000  # type: ignore[union-attr]


def test_garbage_payload() -> None:
    channel = Channel(1, "/cam", "rerun-arrow", Schema("Image", "rerun", b""))
    with pytest.raises(SourceError, match="cannot decode a Rerun row on /cam"):
        decoder_for(channel)(b"garbage")
