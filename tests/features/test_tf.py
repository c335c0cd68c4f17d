"""TF topics: the transforms they carry (the real turtlesim bag) and the field paths that select one."""

from __future__ import annotations

from pathlib import Path

from roboflow.decode import decoder_for, get_field
from roboflow.features.tf import is_tf, robot_transform, transform_fields, transforms_seen
from roboflow.sources import open_source


def test_transforms_seen_on_the_real_turtlesim_bag(recordings: Path) -> None:
    with open_source(recordings / "rosbagjs/example.bag") as source:
        assert transforms_seen(source, "/tf") == [("world", "turtle2"), ("world", "turtle1")]
        assert transforms_seen(source, "/tf_static") == [("turtle1", "carrot")]
        raw = next(source.messages(["/tf_static"]))
    message = decoder_for(raw.channel)(raw.data)
    translation, rotation = transform_fields("carrot", "turtle1")
    assert get_field(message, translation) is message.transforms[0].transform.translation  # type: ignore[attr-defined]
    assert get_field(message, rotation + ".w") == message.transforms[0].transform.rotation.w  # type: ignore[attr-defined]
    assert is_tf("tf/tfMessage") and is_tf("tf2_msgs/msg/TFMessage") and not is_tf("geometry_msgs/msg/Transform")


def test_selection_paths_and_the_robot_frame() -> None:
    assert transform_fields("base_link") == ("transforms[child_frame_id=base_link].transform.translation",
                                             "transforms[child_frame_id=base_link].transform.rotation")
    assert transform_fields("arm link", "/odom")[0] == (
        "transforms[header.frame_id=/odom, child_frame_id='arm link'].transform.translation")
    pairs = [("map", "odom"), ("odom", "/base_link"), ("base_link", "wheel")]
    assert robot_transform(pairs) == ("odom", "/base_link")
    assert robot_transform([("map", "odom")]) == ("map", "odom") and robot_transform([]) is None
