"""What message types can feed which mapping, and the default fields of the common vector types."""

from __future__ import annotations

__all__ = [
    "DEPTH_ENCODINGS",
    "JOINT_FIELDS",
    "JOINT_STATE",
    "RERUN_VECTORS",
    "RERUN_VIDEO",
    "default_fields",
    "image_kind",
    "is_joint_state",
    "normalise_type",
    "rerun_vector",
]

JOINT_STATE = "sensor_msgs/msg/JointState"
#: Raw image encodings whose values are depth or 16-bit data, not 8-bit intensities.
DEPTH_ENCODINGS = frozenset({"mono16", "16UC1", "32FC1"})
#: The per-joint arrays of a JointState.
JOINT_FIELDS = ("position", "velocity", "effort")

_RAW_IMAGES = frozenset({"sensor_msgs/msg/Image", "foxglove.RawImage", "foxglove_msgs/msg/RawImage"})
_COMPRESSED_IMAGES = frozenset(
    {"sensor_msgs/msg/CompressedImage", "foxglove.CompressedImage", "foxglove_msgs/msg/CompressedImage"}
)

#: Video packets, one frame per message (sensor_msgs/CompressedImage may carry them too: see its ``format``).
_VIDEO = frozenset({"foxglove.CompressedVideo", "foxglove_msgs/msg/CompressedVideo",
                    "ffmpeg_image_transport_msgs/msg/FFMPEGPacket"})
#: Rerun archetypes whose rows carry camera frames (see :mod:`roboflow.features.rerun_images`).
_RERUN_IMAGES = frozenset({"Image", "EncodedImage", "DepthImage", "VideoFrameReference"})
#: The Rerun archetype of video samples, one frame per row (decoded as the video types above).
RERUN_VIDEO = "VideoStream"
#: Rerun archetypes of numeric rows -> their value component.
RERUN_VECTORS = {"Scalars": "Scalars:scalars", "Tensor": "Tensor:data", "BarChart": "BarChart:values"}

_NUMERIC_SCALARS = ("Float32", "Float64", "Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32",
                    "UInt64", "Bool", "Byte")
_ARRAYS = tuple(f"{name}MultiArray" for name in _NUMERIC_SCALARS if name not in ("Bool",))

#: type -> the field paths a state/action mapping extracts when it names none ("" = the whole message).
_DEFAULT_FIELDS: dict[str, tuple[str, ...]] = {
    JOINT_STATE: ("position",),
    **{f"std_msgs/msg/{name}": ("data",) for name in _NUMERIC_SCALARS + _ARRAYS},
    "geometry_msgs/msg/Point": ("",),
    "geometry_msgs/msg/Vector3": ("",),
    "geometry_msgs/msg/Quaternion": ("",),
    "geometry_msgs/msg/PointStamped": ("point",),
    "geometry_msgs/msg/Vector3Stamped": ("vector",),
    "geometry_msgs/msg/QuaternionStamped": ("quaternion",),
    "geometry_msgs/msg/Pose": ("position", "orientation"),
    "geometry_msgs/msg/PoseStamped": ("pose.position", "pose.orientation"),
    "geometry_msgs/msg/PoseWithCovarianceStamped": ("pose.pose.position", "pose.pose.orientation"),
    "geometry_msgs/msg/Transform": ("translation", "rotation"),
    "geometry_msgs/msg/TransformStamped": ("transform.translation", "transform.rotation"),
    "geometry_msgs/msg/Twist": ("linear", "angular"),
    "geometry_msgs/msg/TwistStamped": ("twist.linear", "twist.angular"),
    "geometry_msgs/msg/Accel": ("linear", "angular"),
    "geometry_msgs/msg/AccelStamped": ("accel.linear", "accel.angular"),
    "geometry_msgs/msg/Wrench": ("force", "torque"),
    "geometry_msgs/msg/WrenchStamped": ("wrench.force", "wrench.torque"),
    "nav_msgs/msg/Odometry": ("pose.pose.position", "pose.pose.orientation", "twist.twist.linear",
                              "twist.twist.angular"),
    "sensor_msgs/msg/Imu": ("orientation", "angular_velocity", "linear_acceleration"),
    "sensor_msgs/msg/Joy": ("axes",),
    "trajectory_msgs/msg/JointTrajectoryPoint": ("positions",),
}


def normalise_type(type_name: str) -> str:
    """``sensor_msgs/Image`` (ROS1) -> ``sensor_msgs/msg/Image``; other names unchanged."""
    parts = type_name.split("/")
    return f"{parts[0]}/msg/{parts[1]}" if len(parts) == 2 else type_name


def image_kind(type_name: str) -> str | None:
    """``raw``, ``compressed``, ``video`` or ``rerun`` for a message type carrying camera frames, else None.

    A Rerun entity's type lists its archetypes (``Image+Pinhole``); one image archetype makes it a camera, a
    ``VideoStream`` a video camera.
    """
    name = normalise_type(type_name)
    if name in _RAW_IMAGES:
        return "raw"
    if name in _COMPRESSED_IMAGES:
        return "compressed"
    if name in _VIDEO or RERUN_VIDEO in name.split("+"):
        return "video"
    if _RERUN_IMAGES & set(name.split("+")):
        return "rerun"
    return None


def is_joint_state(type_name: str) -> bool:
    return normalise_type(type_name) == JOINT_STATE


def default_fields(type_name: str) -> tuple[str, ...] | None:
    """The field paths extracted from ``type_name`` when a mapping names none, or None if it has none.

    A Rerun entity (``Scalars``, ``Scalars+SeriesLines``) gives the value component of its numeric archetype.
    """
    name = normalise_type(type_name)
    if name in _DEFAULT_FIELDS:
        return _DEFAULT_FIELDS[name]
    component = rerun_vector(name)
    return (component,) if component is not None else None


def rerun_vector(type_name: str) -> str | None:
    """The value component of a Rerun entity with one numeric archetype (``Scalars+SeriesLines`` -> ``Scalars:scalars``)."""
    found = [RERUN_VECTORS[part] for part in type_name.split("+") if part in RERUN_VECTORS]
    return found[0] if len(found) == 1 else None
