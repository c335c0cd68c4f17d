"""Small recordings written by the tests themselves, with the formats' own writer libraries."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from mcap.well_known import MessageEncoding, SchemaEncoding
from mcap.writer import CompressionType, IndexType, Writer
from rosbags.typesys import Stores, get_types_from_msg, get_typestore

STORE = get_typestore(Stores.ROS2_HUMBLE)
ROS1_STORE = get_typestore(Stores.ROS1_NOETIC)
BASE_NS = 1_700_000_000_000_000_000
CUSTOM_TYPE = "roboflow_test/msg/Gripper"
CUSTOM_DEF = "std_msgs/Header header\nfloat64 opening\nstring label\nuint8[] blob\n"


#: robot_calibration_msgs/CaptureConfig: a JointState inside another message.
CAPTURE_CONFIG = "robot_calibration_msgs/msg/CaptureConfig"
STORE.register(get_types_from_msg("sensor_msgs/JointState joint_states\nstring[] features\n", CAPTURE_CONFIG))


def capture_config_msg(names: Sequence[str], position: Sequence[float], stamp_ns: int = BASE_NS) -> bytes:
    """A CaptureConfig whose JointState lists ``names`` (in this order) at ``position``."""
    types = STORE.types
    sec, nanosec = divmod(stamp_ns, 1_000_000_000)
    header = types["std_msgs/msg/Header"](stamp=types["builtin_interfaces/msg/Time"](sec=sec, nanosec=nanosec),
                                          frame_id="")
    joints = types["sensor_msgs/msg/JointState"](header=header, name=list(names),
                                                 position=np.asarray(position, np.float64),
                                                 velocity=np.zeros(0), effort=np.zeros(0))
    message = types[CAPTURE_CONFIG](joint_states=joints, features=["checkerboard"])
    return bytes(STORE.serialize_cdr(message, CAPTURE_CONFIG))


def ros2msg(typename: str) -> str:
    """The concatenated ros2msg definition (main type + dependencies) as rosbag2 stores it."""
    return STORE.generate_msgdef(typename, ros_version=2)[0]


def string_msg(text: str) -> bytes:
    return bytes(STORE.serialize_cdr(STORE.types["std_msgs/msg/String"](data=text), "std_msgs/msg/String"))


def image_msg(stamp_ns: int, width: int = 8, height: int = 6, value: int = 7) -> bytes:
    types = STORE.types
    sec, nanosec = divmod(stamp_ns, 1_000_000_000)
    header = types["std_msgs/msg/Header"](stamp=types["builtin_interfaces/msg/Time"](sec=sec, nanosec=nanosec),
                                          frame_id="cam")
    image = types["sensor_msgs/msg/Image"](header=header, height=height, width=width, encoding="rgb8",
                                           is_bigendian=0, step=width * 3,
                                           data=np.full(width * height * 3, value, np.uint8))
    return bytes(STORE.serialize_cdr(image, "sensor_msgs/msg/Image"))


@dataclass(frozen=True)
class Msg:
    """One message to write: topic, log time (ns) and payload; ``channel`` picks one of a topic's channels."""

    topic: str
    log_time: int
    data: bytes
    channel: int = 0


def write_mcap(
    path: Path,
    messages: Sequence[Msg],
    *,
    types: dict[str, str] | None = None,
    compression: str = "zstd",
    chunked: bool = True,
    index: str = "all",
    summary: bool = True,
    channels_per_topic: int = 1,
    chunk_size: int = 1024,
) -> Path:
    """Write an MCAP with CDR channels (``types``: topic -> ROS2 type; default std_msgs/String).

    ``index``: ``all`` (chunk and message indexes), ``chunk`` (chunk indexes only) or ``none``.
    """
    types = types or {}
    with path.open("wb") as stream:
        writer = Writer(
            stream,
            chunk_size=chunk_size,
            compression={"zstd": CompressionType.ZSTD, "lz4": CompressionType.LZ4, "none": CompressionType.NONE}[compression],
            index_types={"all": IndexType.ALL, "chunk": IndexType.CHUNK, "none": IndexType.NONE}[index],
            repeat_channels=summary,
            repeat_schemas=summary,
            use_chunking=chunked,
            use_statistics=summary,
            use_summary_offsets=summary,
        )
        writer.start(profile="ros2", library="roboflow-tests")
        schema_ids: dict[str, int] = {}
        channel_ids: dict[tuple[str, int], int] = {}
        for topic in sorted({m.topic for m in messages}):
            typename = types.get(topic, "std_msgs/msg/String")
            if typename not in schema_ids:
                schema_ids[typename] = writer.register_schema(typename, SchemaEncoding.ROS2, ros2msg(typename).encode())
            for index_ in range(channels_per_topic):
                channel_ids[(topic, index_)] = writer.register_channel(
                    topic, MessageEncoding.CDR, schema_ids[typename], {"callerid": f"/node{index_}"}
                )
        for sequence, message in enumerate(messages):
            writer.add_message(channel_ids[(message.topic, message.channel)], message.log_time, message.data,
                               message.log_time, sequence)
        writer.finish()
    return path


def write_json_and_schemaless_mcap(path: Path) -> Path:
    """An MCAP with a JSON channel (jsonschema) and a schemaless ``text`` channel."""
    with path.open("wb") as stream:
        writer = Writer(stream)
        writer.start()
        schema = writer.register_schema("Pose", SchemaEncoding.JSONSchema,
                                        json.dumps({"type": "object"}).encode())
        pose = writer.register_channel("/pose", MessageEncoding.JSON, schema)
        text = writer.register_channel("/log", "text", 0)
        for k in range(3):
            payload = {"position": {"x": float(k), "y": 2.0}, "joints": [0.1 * k, 0.2, 0.3, 0.4]}
            writer.add_message(pose, BASE_NS + k, json.dumps(payload).encode(), BASE_NS + k)
            writer.add_message(text, BASE_NS + k, f"line {k}".encode(), BASE_NS + k)
        writer.finish()
    return path


def write_protobuf_mcap(path: Path) -> Path:
    """An MCAP with foxglove-style protobuf messages (google.protobuf.Timestamp + a struct)."""
    from google.protobuf.struct_pb2 import Struct
    from google.protobuf.timestamp_pb2 import Timestamp
    from mcap_protobuf.writer import Writer as ProtobufWriter

    with path.open("wb") as stream, ProtobufWriter(stream) as writer:
        for k in range(4):
            writer.write_message("/stamp", Timestamp(seconds=100 + k, nanos=5), log_time=BASE_NS + k, publish_time=BASE_NS + k)
            value = Struct()
            value.update({"gripper": {"opening": 0.25 * k}})
            writer.write_message("/struct", value, log_time=BASE_NS + k, publish_time=BASE_NS + k)
    return path


def write_ros1_bag(path: Path, compression: str = "none", *, count: int = 5) -> Path:
    """A ROS1 bag with std_msgs/String on two connections of /chatter and a custom type on /gripper."""
    from rosbags.rosbag1 import Writer as BagWriter

    store = get_typestore(Stores.ROS1_NOETIC)
    store.register(get_types_from_msg(CUSTOM_DEF, CUSTOM_TYPE))
    writer = BagWriter(path)
    if compression != "none":
        writer.set_compression(getattr(BagWriter.CompressionFormat, compression.upper()))
    with writer:
        chatter = [writer.add_connection("/chatter", "std_msgs/msg/String", typestore=store, callerid=f"/talker{i}")
                   for i in range(2)]
        gripper = writer.add_connection("/gripper", CUSTOM_TYPE, typestore=store)
        types = store.types
        for k in range(count):
            text = types["std_msgs/msg/String"](data=f"hello {k}")
            writer.write(chatter[k % 2], BASE_NS + k * 1000, bytes(store.serialize_ros1(text, "std_msgs/msg/String")))
            sec, nsec = divmod(BASE_NS + k * 1000 - 10, 1_000_000_000)
            header = types["std_msgs/msg/Header"](seq=k, stamp=types["builtin_interfaces/msg/Time"](sec=sec, nanosec=nsec),
                                                  frame_id="gripper")
            grip = types[CUSTOM_TYPE](header=header, opening=0.5 * k, label=f"g{k}", blob=np.arange(4, dtype=np.uint8))
            writer.write(gripper, BASE_NS + k * 1000 + 1, bytes(store.serialize_ros1(grip, CUSTOM_TYPE)))
    return path


def write_rosbag2(path: Path, storage: str = "sqlite3", compression: str = "none", *, count: int = 6,
                  start: int = BASE_NS) -> Path:
    """A rosbag2 directory with /chatter (String) and /camera (Image); compression none|message|file."""
    from rosbags.rosbag2 import StoragePlugin
    from rosbags.rosbag2 import Writer as BagWriter
    from rosbags.rosbag2.enums import CompressionFormat, CompressionMode

    plugin = StoragePlugin.SQLITE3 if storage == "sqlite3" else StoragePlugin.MCAP
    writer = BagWriter(path, version=9, storage_plugin=plugin)
    if compression != "none":
        writer.set_compression(CompressionMode[compression.upper()], CompressionFormat.ZSTD)
    with writer:
        chatter = writer.add_connection("/chatter", "std_msgs/msg/String", typestore=STORE)
        camera = writer.add_connection("/camera", "sensor_msgs/msg/Image", typestore=STORE)
        for k in range(count):
            writer.write(chatter, start + k * 1000, string_msg(f"hi {k}"))
            writer.write(camera, start + k * 1000 + 5, image_msg(start + k * 1000))
    return path


def split_without_metadata(parts: Sequence[Path], target: Path, suffix: str) -> Path:
    """Gather the storage files of ``parts`` into one directory as ``target_0.<suffix>``, ... without metadata."""
    target.mkdir()
    for index, part in enumerate(parts):
        (storage,) = [p for p in part.iterdir() if p.name.endswith(suffix)]
        shutil.copyfile(storage, target / f"{target.name}_{index}{suffix}")
    return target


def write_rrd(path: Path, frames: int = 4) -> Path:
    """A Rerun recording: /joint scalars, /cam RGB images, /depth tensor, on a custom timestamp timeline."""
    import rerun as rr

    recording = rr.RecordingStream("roboflow-tests", recording_id="tests")
    recording.save(path)
    recording.set_time("sensor_time", timestamp=1_700_000_000)
    recording.log("/calibration", rr.Scalars([9.5]), static=True)
    for k in range(frames):
        recording.set_time("sensor_time", timestamp=1_700_000_000 + k * 0.1)
        recording.log("/joint", rr.Scalars([0.5 * k, -1.0]))
        recording.log("/cam", rr.Image(np.full((6, 8, 3), k, np.uint8)))
        recording.log("/depth", rr.Tensor(np.arange(6, dtype=np.float32).reshape(2, 3) * k))
    recording.flush()
    recording.disconnect()
    return path
