"""Decoded messages -> float32 vectors with stable, named dimensions.

Two extractors:

* :class:`JointStateExtractor` selects joints by name (in the configured order, or the order of the first
  message) from the ``position``/``velocity``/``effort`` arrays of sensor_msgs/JointState, whatever order each
  message lists them in; a selected joint absent from a message is an error or keeps its last value, per config.
* :class:`FieldExtractor` reads field paths (``pose.position``, ``data[3]``, ``axes``) from any message (ROS,
  protobuf, JSON) and flattens what it finds in declared order: numbers, numeric arrays, nested messages (their
  numeric fields in definition order, ``header`` and time stamps left out).

The dimension names come from the first message (joint names, or flattened field paths); every later message
must give the same number of values.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from roboflow.config.model import MissingJoint, TopicInput
from roboflow.decode import get_field
from roboflow.decode.fields import MAX_SHOWN, NoElement
from roboflow.errors import ConfigError, SourceError
from roboflow.features.types import JOINT_FIELDS, default_fields, is_joint_state, rerun_vector

__all__ = [
    "FieldExtractor",
    "JointStateExtractor",
    "VectorExtractor",
    "message_paths",
    "numeric_paths",
    "vector_extractor",
]

_SKIPPED_FIELDS = frozenset({"header", "__msgtype__"})
_TIME_TYPES = frozenset({
    "builtin_interfaces/msg/Time", "builtin_interfaces/msg/Duration", "google.protobuf.Timestamp",
    "google.protobuf.Duration",
})


class VectorExtractor:
    """Base: ``extractor(msg, time_ns) -> float32 array``, or None for a message without the selected array
    element; :attr:`names` known after the first message with a value."""

    def __init__(self, topic: str) -> None:
        self.topic = topic
        self.names: tuple[str, ...] | None = None
        #: Messages without the selected element, and what the first few of them had instead.
        self.absent = 0
        self._absent_seen: dict[str, None] = {}
        self._selector = ""

    def __call__(self, msg: Any, time_ns: int) -> np.ndarray | None:
        raise NotImplementedError

    @property
    def self_contained(self) -> bool:
        """Whether each message's value is its own: it depends on no earlier message and is never absent, so
        a message may be decoded only when a frame takes it."""
        return False

    def note_absent(self, missing: NoElement) -> None:
        """Count a message without the selected element (it will not feed the timeline)."""
        self.absent += 1
        self._selector = missing.selector
        for seen in missing.seen:
            if len(self._absent_seen) < MAX_SHOWN:
                self._absent_seen.setdefault(seen)

    def absent_note(self) -> str | None:
        """``N messages had no <selector> (their elements have ...)``, or None when every message had one."""
        if not self.absent:
            return None
        seen = ", ".join(self._absent_seen) or "empty arrays"
        return f"{self.absent} messages had no element {self._selector} (they have {seen})"

    def error(self, time_ns: int, message: str, hint: str | None = None) -> SourceError:
        return SourceError(f"{self.topic} at t={time_ns / 1e9:.6f} s: {message}", hint=hint)

    def float32(self, values: np.ndarray, names: Sequence[str], time_ns: int) -> np.ndarray:
        """``values`` as float32; a finite value beyond float32's range is an error naming its field."""
        with np.errstate(over="ignore"):
            out = values.astype(np.float32)
        overflow = np.flatnonzero(np.isinf(out) & np.isfinite(values))
        if overflow.size:
            where = names[overflow[0]] if overflow[0] < len(names) else f"value {overflow[0]}"
            raise self.error(time_ns, f"{where} = {values[overflow[0]]:g} does not fit float32 (LeRobot's dtype)",
                             hint="map another field, or scale it before recording")
        return out


def vector_extractor(topic_input: TopicInput, type_name: str) -> VectorExtractor:
    """The extractor for one input of a state/action mapping.

    Raises:
        ConfigError: The fields asked for do not fit the type (e.g. a JointState field other than
            position/velocity/effort, or joints on a type that has no joint names).
    """
    if is_joint_state(type_name):
        fields = topic_input.fields or ("position",)
        if all(f in JOINT_FIELDS for f in fields):
            return JointStateExtractor(topic_input.topic, fields, topic_input.joints, topic_input.missing_joint)
        if topic_input.joints is not None:
            raise ConfigError(
                f"{topic_input.topic}: JointState field must be one of {', '.join(JOINT_FIELDS)} when joints "
                f"are selected, got {', '.join(fields)}"
            )
        return FieldExtractor(topic_input.topic, fields)
    if topic_input.joints is not None:
        path, arrays = _nested_joint_state(topic_input, type_name)
        return JointStateExtractor(topic_input.topic, arrays, topic_input.joints, topic_input.missing_joint, path)
    label = None
    if topic_input.fields is None and rerun_vector(type_name) is not None:
        label = topic_input.topic.rstrip("/").rsplit("/", 1)[-1] or topic_input.topic
    return FieldExtractor(topic_input.topic, topic_input.fields or default_fields(type_name), type_name, label)


def _nested_joint_state(topic_input: TopicInput, type_name: str) -> tuple[str, tuple[str, ...]]:
    """For ``joints`` on a message holding a JointState: its path and arrays, from ``field = "joint_states"``
    (position) or ``["joint_states.position", "joint_states.velocity"]``.

    Raises:
        ConfigError: No field, or fields that are not arrays of one JointState path.
    """
    paths: set[str] = set()
    arrays: list[str] = []
    for field in topic_input.fields or ():
        path, _, last = field.rpartition(".")
        if last not in JOINT_FIELDS:
            path, last = field, JOINT_FIELDS[0]
        paths.add(path)
        arrays.append(last)
    if len(paths) != 1 or "" in paths:
        raise ConfigError(
            f"{topic_input.topic}: 'joints' applies to a sensor_msgs/JointState, and {type_name} is none",
            hint="set field to the JointState inside it (field = \"joint_states\", or \"joint_states.velocity\"), "
                 "or select elements with field paths such as data[0]",
        )
    return paths.pop(), tuple(arrays)


class JointStateExtractor(VectorExtractor):
    """Joints by name from JointState messages, or from a JointState inside another message.

    Args:
        topic: Topic name, for messages.
        fields: Which arrays, in order (``position``, ``velocity``, ``effort``); several are concatenated.
        joints: Joint names to select, in order; None: every joint of the first message, in its order.
        missing: What happens when a selected joint is absent from a message (or an array is short).
        path: Field path of the JointState in the message (``""``: the message is one).
    """

    def __init__(self, topic: str, fields: Sequence[str], joints: Sequence[str] | None,
                 missing: MissingJoint, path: str = "") -> None:
        super().__init__(topic)
        self.fields = tuple(fields)
        self.joints = tuple(joints) if joints is not None else None
        self.missing = missing
        self.path = path
        self._layout: tuple[tuple[str, ...], np.ndarray, np.ndarray] | None = None
        self._last: np.ndarray | None = None

    @property
    def self_contained(self) -> bool:
        """Not when joints are held from earlier messages, nor for a JointState at a path that may select an
        absent array element."""
        return self.missing is MissingJoint.ERROR and not self.path

    def __call__(self, msg: Any, time_ns: int) -> np.ndarray | None:
        if self.path:
            msg = self._joint_state(msg, time_ns)
            if msg is None:
                return None
        names = tuple(self._field(msg, "name", time_ns))
        if self.joints is None:
            if not names:
                raise self.error(time_ns, "the first JointState has no joint names", hint="list them in 'joints'")
            self.joints = names
        if self.names is None:
            self.names = self.joints if len(self.fields) == 1 else tuple(
                f"{joint}.{field}" for field in self.fields for joint in self.joints
            )
        index, present = self._index(names, time_ns)
        size = len(self.joints)
        out = self._last.copy() if self._last is not None else np.full(len(self.fields) * size, np.nan, np.float32)
        for n, field in enumerate(self.fields):
            values = np.asarray(self._field(msg, field, time_ns), dtype=np.float64)
            target = out[n * size:(n + 1) * size]
            if len(values) == len(names):
                target[present] = self.float32(values, [f"{name}.{field}" for name in names], time_ns)[index[present]]
            elif self.missing is MissingJoint.ERROR:
                raise self.error(time_ns, f"JointState has {len(names)} names but {len(values)} {field} values",
                                 hint="set missing_joint = \"hold\" to keep the last values")
        if self.missing is MissingJoint.HOLD:
            if np.isnan(out).any():
                unknown = [self.names[i] for i in np.flatnonzero(np.isnan(out))]
                raise self.error(time_ns, f"no value yet for {', '.join(unknown)}",
                                 hint="a held joint needs a first value before the episode starts")
            self._last = out
        return out

    def _field(self, msg: Any, field: str, time_ns: int) -> Any:
        try:
            return _attr(msg, field)
        except (AttributeError, KeyError):
            raise self.error(time_ns, f"the JointState has no field {field!r}",
                             hint="the recording's definition of sensor_msgs/JointState lacks it; "
                                  "map the fields it has with 'fields'") from None

    def _joint_state(self, msg: Any, time_ns: int) -> Any:
        """The JointState at :attr:`path` (None: a selected array element is absent from this message)."""
        try:
            value = get_field(msg, self.path)
        except NoElement as missing:
            self.note_absent(missing)
            return None
        except SourceError as err:
            raise self.error(time_ns, err.message, hint=err.hint) from err
        if not all(isinstance(value, dict) and key in value or hasattr(value, key) for key in ("name", *self.fields)):
            raise self.error(time_ns, f"'{self.path}' is {_type_name(value) or type(value).__name__}, not a JointState",
                             hint="'joints' needs field = the path of a sensor_msgs/JointState")
        return value

    def _index(self, names: tuple[str, ...], time_ns: int) -> tuple[np.ndarray, np.ndarray]:
        """Per selected joint: its index in ``names`` and whether it is there (cached per name list)."""
        if self._layout is None or self._layout[0] != names:
            assert self.joints is not None
            where = {name: i for i, name in enumerate(names)}
            present = np.array([j in where for j in self.joints], dtype=bool)
            if not present.all() and self.missing is MissingJoint.ERROR:
                absent = [j for j in self.joints if j not in where]
                raise self.error(
                    time_ns, f"JointState lacks joint(s) {', '.join(absent)}; it has {', '.join(names) or 'none'}",
                    hint="fix 'joints', or set missing_joint = \"hold\"",
                )
            index = np.array([where.get(j, 0) for j in self.joints], dtype=np.intp)
            self._layout = (names, index, present)
        return self._layout[1], self._layout[2]


class FieldExtractor(VectorExtractor):
    """Numeric values at field paths, flattened and concatenated in order.

    Args:
        topic: Topic name, for messages.
        fields: Field paths (``""`` is the whole message), or None when the type has no default (then the
            first message raises an error listing the numeric paths it has).
        type_name: The message type, for messages.
        label: Names the values ``label`` (one value) or ``label_0``, ``label_1``, ... instead of by field path:
            a Rerun entity's values are named after its path (``/robot/action/gripper`` -> ``gripper``).
    """

    def __init__(self, topic: str, fields: Sequence[str] | None, type_name: str = "", label: str | None = None) -> None:
        super().__init__(topic)
        self.fields = tuple(fields) if fields is not None else None
        self.type_name = type_name
        self.label = label
        self._size: int | None = None

    @property
    def self_contained(self) -> bool:
        """Not without fields (the first message raises the error listing them), nor with a path that indexes
        or selects array elements (a selection may be absent from a message)."""
        return self.fields is not None and not any("[" in field for field in self.fields)

    def __call__(self, msg: Any, time_ns: int) -> np.ndarray | None:
        if self.fields is None:
            paths = numeric_paths(msg)
            shown = ", ".join(paths[:12]) + (", ..." if len(paths) > 12 else "")
            raise ConfigError(
                f"{self.topic}: type {self.type_name or type(msg).__name__} has no default vector",
                hint=f"set field = one or more numeric paths: {shown or 'none found'}",
            )
        names: list[str] = []
        parts: list[np.ndarray] = []
        for path in self.fields:
            try:
                value = msg if path == "" else get_field(msg, path)
            except NoElement as missing:
                self.note_absent(missing)
                return None
            except SourceError as err:
                raise self.error(time_ns, err.message, hint=err.hint) from err
            try:
                flat_names, values = flatten(value, path)
            except TypeError as err:
                raise self.error(time_ns, f"field '{path}' is not numeric: {err}") from err
            names.extend(flat_names)
            parts.append(values)
        out = self.float32(np.concatenate(parts), names, time_ns) if parts else np.empty(0, np.float32)
        if self._size is None:
            self._size = out.size
            if self.label is not None:
                names = [self.label] if out.size == 1 else [f"{self.label}_{i}" for i in range(out.size)]
            self.names = tuple(names)
        elif out.size != self._size:
            raise self.error(time_ns, f"{', '.join(self.fields)} gave {out.size} values, earlier messages {self._size}",
                             hint="select a fixed number of elements, e.g. data[0] ... data[5]")
        return out


def flatten(value: Any, path: str) -> tuple[list[str], np.ndarray]:
    """Names and float64 values of every numeric leaf of ``value``, in definition order.

    Raises:
        TypeError: ``value`` itself is text or holds no number.
    """
    names: list[str] = []
    values: list[np.ndarray] = []
    _walk(value, path, names, values, top=True)
    if not values:
        raise TypeError(f"no numeric value at '{path}' ({type(value).__name__})")
    return names, np.concatenate(values)


def numeric_paths(msg: Any) -> list[str]:
    """Field paths of the numeric leaves of a message (for error hints); arrays shown once as ``name[]``."""
    return message_paths(msg)[0]


def message_paths(msg: Any) -> tuple[list[str], list[str]]:
    """Field paths of a message's numeric leaves and of its other leaves (text, bytes), without headers and
    time stamps; arrays shown once as ``name[]``."""
    names: list[str] = []
    other: list[str] = []
    _walk(msg, "", names, [], top=False, arrays_once=True, other=other)
    return names, other


def _walk(value: Any, path: str, names: list[str], values: list[np.ndarray], *, top: bool,
          arrays_once: bool = False, other: list[str] | None = None) -> None:
    def join(child: str) -> str:
        return f"{path}.{child}" if path else child

    def walk(item: Any, child: str) -> None:
        _walk(item, child, names, values, top=False, arrays_once=arrays_once, other=other)

    if isinstance(value, (bool, int, float, np.number, np.bool_)):
        names.append(path)
        values.append(np.array([value], dtype=np.float64))
    elif isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":
            if top:
                raise TypeError(f"array of {value.dtype}")
            if other is not None:
                other.append(f"{path}[]")
            return
        flat = value.reshape(-1)
        names.extend([f"{path}[]"] if arrays_once else [f"{path}[{i}]" for i in range(flat.size)])
        values.append(flat.astype(np.float64))
    elif isinstance(value, (str, bytes, bytearray)):
        if top:
            raise TypeError("it is text")
        if other is not None:
            other.append(path)
    elif isinstance(value, dict):
        for key, item in value.items():
            walk(item, join(str(key)))
    elif isinstance(value, (list, tuple)) or _is_repeated(value):
        items = list(value)
        if items and all(isinstance(v, (bool, int, float, np.number)) for v in items):
            _walk(np.asarray(items, dtype=np.float64), path, names, values, top=top, arrays_once=arrays_once)
            return
        for i, item in enumerate(items[:1] if arrays_once else items):
            walk(item, f"{path}[{'' if arrays_once else i}]")
    else:
        for child, item in _message_fields(value):
            walk(item, join(child))


def _message_fields(msg: Any) -> list[tuple[str, Any]]:
    """(name, value) of a message's fields in definition order, without headers and time stamps."""
    if _type_name(msg) in _TIME_TYPES:
        return []
    if dataclasses.is_dataclass(msg):
        names = [f.name for f in dataclasses.fields(msg)]
    elif hasattr(msg, "DESCRIPTOR") and hasattr(msg, "ListFields"):
        names = [f.name for f in msg.DESCRIPTOR.fields]
    elif hasattr(msg, "__slots__"):
        names = [n for n in msg.__slots__ if not n.startswith("_")]
    else:
        return []
    return [(n, getattr(msg, n)) for n in names if n not in _SKIPPED_FIELDS and not n.startswith("__")]


def _type_name(msg: Any) -> str:
    descriptor = getattr(msg, "DESCRIPTOR", None)
    if descriptor is not None and hasattr(descriptor, "full_name"):
        return str(descriptor.full_name)
    return str(getattr(msg, "__msgtype__", ""))


def _is_repeated(value: Any) -> bool:
    """Protobuf repeated containers are sequences without being lists."""
    return hasattr(value, "__len__") and hasattr(value, "__getitem__") and not hasattr(value, "DESCRIPTOR")


def _attr(msg: Any, name: str) -> Any:
    return msg[name] if isinstance(msg, dict) else getattr(msg, name)
