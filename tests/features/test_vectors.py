from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from rosbags.typesys import Stores, get_typestore

from roboflow.config import MissingJoint, TopicInput
from roboflow.errors import ConfigError, SourceError
from roboflow.features import vector_extractor
from roboflow.features.types import default_fields
from roboflow.features.vectors import numeric_paths

STORE = get_typestore(Stores.ROS2_HUMBLE)
T = STORE.types
Header = T["std_msgs/msg/Header"]
Time = T["builtin_interfaces/msg/Time"]


def header() -> Any:
    return Header(stamp=Time(sec=3, nanosec=0), frame_id="base")


def joint_state(names: list[str], position: list[float], velocity: list[float] | None = None,
                effort: list[float] | None = None) -> Any:
    return T["sensor_msgs/msg/JointState"](
        header=header(), name=names, position=np.array(position, np.float64),
        velocity=np.array(velocity or [], np.float64), effort=np.array(effort or [], np.float64),
    )


def extract(topic_input: TopicInput, type_name: str, *msgs: Any) -> tuple[list[np.ndarray], tuple[str, ...] | None]:
    extractor = vector_extractor(topic_input, type_name)
    values = [extractor(m, 3_000_000_000) for m in msgs]
    return values, extractor.names


def test_joint_state_by_name_in_declared_order_whatever_the_message_order() -> None:
    topic = TopicInput("/js", joints=("elbow", "shoulder"))
    values, names = extract(
        topic, "sensor_msgs/msg/JointState",
        joint_state(["shoulder", "elbow", "wrist"], [1.0, 2.0, 3.0]),
        joint_state(["wrist", "elbow", "shoulder"], [30.0, 20.0, 10.0]),
    )
    assert names == ("elbow", "shoulder")
    assert [v.tolist() for v in values] == [[2.0, 1.0], [20.0, 10.0]]
    assert values[0].dtype == np.float32


def test_joint_state_defaults_to_every_joint_of_the_first_message_and_concatenates_fields() -> None:
    topic = TopicInput("/js", fields=("position", "velocity"))
    values, names = extract(topic, "sensor_msgs/JointState",
                            joint_state(["a", "b"], [1, 2], [0.1, 0.2]), joint_state(["b", "a"], [4, 3], [0.4, 0.3]))
    assert names == ("a.position", "b.position", "a.velocity", "b.velocity")
    np.testing.assert_allclose(values[1], [3, 4, 0.3, 0.4])
    values, names = extract(TopicInput("/js", fields=("effort",)), "sensor_msgs/msg/JointState",
                            joint_state(["a", "b"], [1, 2], effort=[5, 6]))
    assert names == ("a", "b") and values[0].tolist() == [5, 6]


def test_a_missing_joint_is_an_error_or_holds_its_last_value() -> None:
    topic = TopicInput("/js", joints=("a", "b"))
    first, second = joint_state(["a", "b"], [1, 2]), joint_state(["a"], [5])
    with pytest.raises(SourceError, match=r"/js at t=3.000000 s: JointState lacks joint\(s\) b; it has a"):
        extract(topic, "sensor_msgs/msg/JointState", first, second)
    values, _ = extract(TopicInput("/js", joints=("a", "b"), missing_joint=MissingJoint.HOLD),
                        "sensor_msgs/msg/JointState", first, second)
    assert values[1].tolist() == [5, 2]
    with pytest.raises(SourceError, match="no value yet for b"):
        extract(TopicInput("/js", joints=("a", "b"), missing_joint=MissingJoint.HOLD),
                "sensor_msgs/msg/JointState", second)


def test_an_empty_velocity_array_is_an_error_unless_held() -> None:
    with pytest.raises(SourceError, match="JointState has 2 names but 0 velocity values"):
        extract(TopicInput("/js", fields=("velocity",)), "sensor_msgs/msg/JointState", joint_state(["a", "b"], [1, 2]))


def test_joints_on_a_type_without_joint_names_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="'joints' applies to a sensor_msgs/JointState, and "
                                          "std_msgs/msg/Float64MultiArray is none"):
        vector_extractor(TopicInput("/x", joints=("a",)), "std_msgs/msg/Float64MultiArray")
    with pytest.raises(ConfigError, match="field = \"joint_states\""):
        vector_extractor(TopicInput("/x", fields=("a.position", "b.position"), joints=("a",)), "my/msg/Two")
    with pytest.raises(SourceError, match=r"/x at t=3.000000 s: 'data' is ndarray, not a JointState"):
        extract(TopicInput("/x", fields=("data",), joints=("a",)), "std_msgs/msg/Float64MultiArray",
                T["std_msgs/msg/Float64MultiArray"](layout=T["std_msgs/msg/MultiArrayLayout"](dim=[], data_offset=0),
                                                    data=np.zeros(2)))


def test_joints_select_from_a_joint_state_inside_another_message() -> None:
    def capture(names: list[str], position: list[float], velocity: list[float]) -> dict[str, Any]:
        return {"joint_states": joint_state(names, position, velocity), "features": ["arm"]}

    messages = (capture(["a", "b", "c"], [1, 2, 3], [4, 5, 6]), capture(["c", "b", "a"], [30, 20, 10], [60, 50, 40]))
    values, names = extract(TopicInput("/cc", fields=("joint_states",), joints=("c", "a")),
                            "robot_calibration_msgs/msg/CaptureConfig", *messages)
    assert names == ("c", "a") and [v.tolist() for v in values] == [[3, 1], [30, 10]]
    values, names = extract(
        TopicInput("/cc", fields=("joint_states.position", "joint_states.velocity"), joints=("b",)),
        "robot_calibration_msgs/msg/CaptureConfig", *messages)
    assert names == ("b.position", "b.velocity") and [v.tolist() for v in values] == [[2, 5], [20, 50]]


def test_numeric_arrays_and_element_selection() -> None:
    MultiArray, Layout = T["std_msgs/msg/Float64MultiArray"], T["std_msgs/msg/MultiArrayLayout"]
    msg = MultiArray(layout=Layout(dim=[], data_offset=0), data=np.array([0.5, 1.5, 2.5]))
    values, names = extract(TopicInput("/a"), "std_msgs/msg/Float64MultiArray", msg)
    assert names == ("data[0]", "data[1]", "data[2]") and values[0].tolist() == [0.5, 1.5, 2.5]
    values, names = extract(TopicInput("/a", fields=("data[2]", "data[0]")), "std_msgs/msg/Float64MultiArray", msg)
    assert names == ("data[2]", "data[0]") and values[0].tolist() == [2.5, 0.5]
    short = MultiArray(layout=Layout(dim=[], data_offset=0), data=np.array([1.0]))
    with pytest.raises(SourceError, match="data gave 1 values, earlier messages 3"):
        extract(TopicInput("/a"), "std_msgs/msg/Float64MultiArray", msg, short)


def test_geometry_messages_flatten_in_definition_order_without_header() -> None:
    V3, Q, P = T["geometry_msgs/msg/Vector3"], T["geometry_msgs/msg/Quaternion"], T["geometry_msgs/msg/Point"]
    pose = T["geometry_msgs/msg/PoseStamped"](
        header=header(), pose=T["geometry_msgs/msg/Pose"](position=P(x=1.0, y=2.0, z=3.0),
                                                          orientation=Q(x=0.0, y=0.0, z=0.0, w=1.0)))
    values, names = extract(TopicInput("/pose"), "geometry_msgs/msg/PoseStamped", pose)
    assert names == ("pose.position.x", "pose.position.y", "pose.position.z", "pose.orientation.x",
                     "pose.orientation.y", "pose.orientation.z", "pose.orientation.w")
    assert values[0].tolist() == [1, 2, 3, 0, 0, 0, 1]
    twist = T["geometry_msgs/msg/Twist"](linear=V3(x=1.0, y=0.0, z=0.0), angular=V3(x=0.0, y=0.0, z=0.5))
    values, names = extract(TopicInput("/cmd_vel"), "geometry_msgs/msg/Twist", twist)
    assert names[0] == "linear.x" and names[-1] == "angular.z" and values[0].tolist() == [1, 0, 0, 0, 0, 0.5]
    imu = T["sensor_msgs/msg/Imu"](
        header=header(), orientation=Q(x=0.0, y=0.0, z=0.0, w=1.0), orientation_covariance=np.zeros(9),
        angular_velocity=V3(x=0.1, y=0.2, z=0.3), angular_velocity_covariance=np.zeros(9),
        linear_acceleration=V3(x=0.0, y=0.0, z=9.8), linear_acceleration_covariance=np.zeros(9))
    values, names = extract(TopicInput("/imu"), "sensor_msgs/msg/Imu", imu)
    assert len(names) == 10 and values[0][-1] == pytest.approx(9.8)
    values, names = extract(TopicInput("/imu", fields=("angular_velocity.z",)), "sensor_msgs/msg/Imu", imu)
    assert names == ("angular_velocity.z",) and values[0][0] == pytest.approx(0.3)


def test_odometry_has_a_default_vector_of_pose_and_twist() -> None:
    assert default_fields("nav_msgs/Odometry") == (
        "pose.pose.position", "pose.pose.orientation", "twist.twist.linear", "twist.twist.angular")


def test_custom_types_need_a_field_and_the_error_lists_numeric_paths() -> None:
    msg = {"header": {"stamp": 1}, "gripper": {"width": 0.04, "force": 3.0}, "label": "x", "ids": [1, 2]}
    extractor = vector_extractor(TopicInput("/g"), "my_msgs/msg/Gripper")
    with pytest.raises(ConfigError, match=r"no default vector.*gripper.width, gripper.force, ids\[\]"):
        extractor(msg, 0)
    values, names = extract(TopicInput("/g", fields=("gripper", "ids[1]")), "my_msgs/msg/Gripper", msg)
    assert names == ("gripper.width", "gripper.force", "ids[1]") and values[0].tolist() == pytest.approx([0.04, 3, 2])


def test_a_bad_field_path_or_a_text_field_is_a_source_error_naming_the_topic() -> None:
    msg = {"a": 1.0, "label": "x"}
    with pytest.raises(SourceError, match=r"/g at t=3.000000 s: field path 'b': no field 'b'"):
        extract(TopicInput("/g", fields=("b",)), "my/Type", msg)
    with pytest.raises(SourceError, match="field 'label' is not numeric: it is text"):
        extract(TopicInput("/g", fields=("label",)), "my/Type", msg)


def test_numeric_paths_skip_headers_and_text() -> None:
    js = joint_state(["a"], [1.0])
    assert numeric_paths(js) == ["position[]", "velocity[]", "effort[]"]


def test_a_value_beyond_float32_names_its_field_in_one_error() -> None:
    with pytest.raises(SourceError) as raised:
        extract(TopicInput("/js"), "sensor_msgs/msg/JointState", joint_state(["a", "b"], [1.0, 1e300]))
    assert str(raised.value) == ("/js at t=3.000000 s: b.position = 1e+300 does not fit float32 (LeRobot's dtype) "
                                 "(map another field, or scale it before recording)")
    array = T["std_msgs/msg/Float64MultiArray"](layout=T["std_msgs/msg/MultiArrayLayout"](dim=[], data_offset=0),
                                                data=np.array([0.5, -4e40]))
    with pytest.raises(SourceError, match=r"data\[1\] = -4e\+40 does not fit float32"):
        extract(TopicInput("/arr"), "std_msgs/msg/Float64MultiArray", array)
    values, _ = extract(TopicInput("/arr"), "std_msgs/msg/Float64MultiArray",
                        T["std_msgs/msg/Float64MultiArray"](layout=array.layout, data=np.array([np.inf, 2.0])))
    assert values[0].tolist() == [np.inf, 2.0]  # an infinity recorded as such is not an overflow
