"""Field paths into rosbags objects, protobuf messages, dicts and arrays."""

from __future__ import annotations

import numpy as np
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from rosbags.typesys import Stores, get_typestore

from roboflow.decode import get_field
from roboflow.decode.fields import NoElement
from roboflow.errors import SourceError

STORE = get_typestore(Stores.ROS2_HUMBLE)


def _pose():
    types = STORE.types
    point = types["geometry_msgs/msg/Point"](x=1.0, y=2.0, z=3.0)
    orientation = types["geometry_msgs/msg/Quaternion"](x=0.0, y=0.0, z=0.0, w=1.0)
    return types["geometry_msgs/msg/Pose"](position=point, orientation=orientation)


def test_paths_into_every_kind_of_message() -> None:
    assert get_field(_pose(), "position.z") == 3.0
    joint_state = STORE.types["sensor_msgs/msg/JointState"](
        header=STORE.types["std_msgs/msg/Header"](stamp=STORE.types["builtin_interfaces/msg/Time"](sec=0, nanosec=0), frame_id=""),
        name=["a", "b", "c", "d"], position=np.array([0.0, 0.1, 0.2, 0.3]), velocity=np.zeros(0), effort=np.zeros(0))
    assert get_field(joint_state, "position[3]") == 0.3
    assert get_field(joint_state, "name[-1]") == "d"
    assert get_field(Timestamp(seconds=7), "seconds") == 7
    assert get_field({"a": [{"b": 5}]}, "a[0].b") == 5


def test_missing_fields_name_what_exists() -> None:
    with pytest.raises(SourceError, match=r"no field 'positon' in the message \(geometry_msgs__msg__Pose\)") as caught:
        get_field(_pose(), "positon.x")
    assert "position, orientation" in (caught.value.hint or "")
    with pytest.raises(SourceError, match=r"no index \[9\] in 'a'") as caught:
        get_field({"a": [1, 2]}, "a[9]")
    assert "indices 0..1" in (caught.value.hint or "")
    with pytest.raises(SourceError, match="no field 'nanos_'"):
        get_field(Timestamp(seconds=1), "nanos_")


@pytest.mark.parametrize("path", ["", "a..b", ".a", "a[x]", "a]"])
def test_invalid_paths(path: str) -> None:
    with pytest.raises(SourceError, match="field path"):
        get_field({"a": 1}, path)


def _tf(*pairs: tuple[str, str, float]):  # type: ignore[no-untyped-def]
    types = STORE.types
    stamp = types["builtin_interfaces/msg/Time"](sec=0, nanosec=0)
    transforms = [
        types["geometry_msgs/msg/TransformStamped"](
            header=types["std_msgs/msg/Header"](stamp=stamp, frame_id=parent), child_frame_id=child,
            transform=types["geometry_msgs/msg/Transform"](
                translation=types["geometry_msgs/msg/Vector3"](x=x, y=0.0, z=0.0),
                rotation=types["geometry_msgs/msg/Quaternion"](x=0.0, y=0.0, z=0.0, w=1.0)))
        for parent, child, x in pairs
    ]
    return types["tf2_msgs/msg/TFMessage"](transforms=transforms)


def test_array_elements_are_selected_by_field_values() -> None:
    tf = _tf(("map", "odom", 1.0), ("odom", "base_link", 2.0), ("base_link", "odom", 3.0))
    assert get_field(tf, "transforms[child_frame_id=base_link].transform.translation.x") == 2.0
    assert get_field(tf, "transforms[child_frame_id=odom].transform.translation.x") == 1.0  # the first match
    assert get_field(tf, "transforms[header.frame_id=base_link, child_frame_id=odom].transform.translation.x") == 3.0
    assert get_field(tf, "transforms[ child_frame_id = 'base_link' ].transform.translation.x") == 2.0
    detections = {"detections": [{"id": 3, "ok": True, "x": 0.5}, {"id": 7, "ok": False, "x": 0.25}]}
    assert get_field(detections, "detections[id=7].x") == 0.25  # numbers compare as numbers
    assert get_field(detections, "detections[id=7.0].x") == 0.25
    assert get_field(detections, "detections[ok=true].x") == 0.5


def test_no_matching_element_is_its_own_error_listing_what_the_elements_have() -> None:
    tf = _tf(("map", "odom", 1.0), ("odom", "wheel", 2.0))
    with pytest.raises(NoElement, match=r"no element transforms\[child_frame_id=base_link\] \(its elements have "
                                        r"child_frame_id=odom, child_frame_id=wheel\)") as caught:
        get_field(tf, "transforms[child_frame_id=base_link].transform")
    assert caught.value.selector == "transforms[child_frame_id=base_link]"
    with pytest.raises(NoElement, match=r"\(its elements have none \(the array is empty\)\)"):
        get_field(_tf(), "transforms[child_frame_id=base_link]")
    with pytest.raises(SourceError, match=r"'transforms\[0\].child_frame_id' \(str\) is not an array"):
        get_field(tf, "transforms[0].child_frame_id[x=1]")
    with pytest.raises(SourceError, match=r"field path 'transforms\[child=odom\]': the elements of 'transforms' "
                                          r"have no child \(they have header, child_frame_id, transform\)") as other:
        get_field(tf, "transforms[child=odom]")
    assert not isinstance(other.value, NoElement)


@pytest.mark.parametrize("path", ["a[=1]", "a[b=1", "a[1b=2]", "a[b='x]"])
def test_invalid_selections(path: str) -> None:
    with pytest.raises(SourceError, match="invalid field path"):
        get_field({"a": []}, path)
