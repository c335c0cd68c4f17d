"""Field paths into rosbags objects, protobuf messages, dicts and arrays."""

from __future__ import annotations

import numpy as np
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from rosbags.typesys import Stores, get_typestore

from roboflow.decode import get_field
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
