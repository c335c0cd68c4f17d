"""ROS1 and ROS2 (CDR) decoding with rosbags typestores built from the recording's own definitions.

Types drift between ROS distros (``sensor_msgs/Range`` gained ``variance`` in Jazzy), so the
definitions a recording embeds win over rosbags' built-in ones. When a recording stores none (older
rosbag2 sqlite files), a built-in distro store is used: the one named by the recording's metadata
(``Channel.metadata["ros_distro"]``), else the latest ROS2 LTS. If an embedded definition cannot
decode a message but the built-in one can (placeholder definitions written by some tools), the
built-in one is used and a warning logged once.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from functools import cache, lru_cache
from typing import cast

from rosbags.interfaces import Nodetype
from rosbags.serde import SerdeError
from rosbags.typesys import Stores, TypesysError, get_types_from_idl, get_types_from_msg, get_typestore
from rosbags.typesys.msg import normalize_msgtype
from rosbags.typesys.store import Typestore

from roboflow.errors import SourceError, one_line
from roboflow.sources.base import Channel, Schema

__all__ = ["DISTRO_KEY", "KNOWN_DISTROS", "builtin_store_name", "first_field_type", "ros_decoder"]

log = logging.getLogger(__name__)

#: Channel.metadata key a source sets to the recording's ROS distro (a hint for recordings without
#: message definitions).
DISTRO_KEY = "ros_distro"

_DISTROS = {store.value.removeprefix("ros2_"): store for store in Stores if store.value.startswith("ros2_")}
#: ROS2 distro names with a built-in rosbags store ("rolling" maps to the latest LTS).
KNOWN_DISTROS = frozenset(_DISTROS) | {"rolling"}
_SEPARATOR = re.compile(r"^={10,}\s*$", re.MULTILINE)
_CONSTANT = re.compile(r"^\S+\s+[A-Z][A-Z0-9_]*\s*=")
_SERVICE_EVENT = re.compile(r"^(?P<pkg>[^/]+)/srv/(?P<name>\w+)_Event$")

Decoder = Callable[[bytes | memoryview], object]


def builtin_store_name(channel: Channel) -> str:
    """Name of the built-in rosbags store used for ``channel`` when definitions are missing."""
    return _base_store(channel).value


def _base_store(channel: Channel) -> Stores:
    if channel.message_encoding == "ros1":
        return Stores.ROS1_NOETIC
    distro = channel.metadata.get(DISTRO_KEY, "")
    return _DISTROS.get(distro, Stores.LATEST)


@cache
def _builtin(store: Stores) -> Typestore:
    return get_typestore(store)


def _typename(name: str) -> str:
    """rosbags' key for a type name (``pkg/Type`` and ``pkg/msg/Type`` -> ``pkg/msg/Type``)."""
    return normalize_msgtype(name)


def parse_definitions(schema: Schema) -> dict[str, object]:
    """Parse an embedded ros1msg/ros2msg/ros2idl definition into rosbags' types dict.

    Raises:
        TypesysError: The definition cannot be parsed.
    """
    text = schema.data.decode("utf-8", errors="replace")
    if schema.encoding == "ros2idl":
        types: dict[str, object] = {}
        for section in _SEPARATOR.split(text):
            body = section.strip()
            if body.startswith("IDL:"):
                body = body.split("\n", 1)[1] if "\n" in body else ""
            if body:
                types.update(get_types_from_idl(body))
        return types
    event = _SERVICE_EVENT.match(schema.name)
    if event and re.search(r"^---\s*$", text, re.MULTILINE):
        return _service_event_types(event["pkg"], event["name"], text)
    return dict(get_types_from_msg(text, schema.name))


def _service_event_types(package: str, name: str, text: str) -> dict[str, object]:
    """Types of a ROS2 service event whose stored definition is the ``.srv`` text.

    rosbag2 stores the service file (request ``---`` response) as the definition of
    ``pkg/srv/Name_Event``; the event itself is ``info``, ``request[<=1]``, ``response[<=1]``.
    """
    request, response = re.split(r"^---\s*$", text, maxsplit=1, flags=re.MULTILINE)
    base = f"{package}/srv/{name}"
    types: dict[str, object] = {}
    types.update(get_types_from_msg(request, f"{base}_Request"))
    types.update(get_types_from_msg(response, f"{base}_Response"))
    event = (
        f"service_msgs/msg/ServiceEventInfo info\n{base}_Request[<=1] request\n{base}_Response[<=1] response\n"
    )
    types.update(get_types_from_msg(event, f"{base}_Event"))
    return types


def _referenced(description: object) -> Iterator[str]:
    """Type names a field description of rosbags' types dict refers to (``(Nodetype.NAME, 'pkg/msg/T')``)."""
    if isinstance(description, tuple):
        if len(description) == 2 and description[0] == Nodetype.NAME and isinstance(description[1], str):
            yield description[1]
        else:
            for part in description:
                yield from _referenced(part)


def _check_acyclic(types: dict[str, object]) -> None:
    """Refuse a definition that contains itself (rosbags would recurse until RecursionError).

    Raises:
        TypesysError: Naming the cycle, e.g. ``pkg/msg/A -> pkg/msg/B -> pkg/msg/A``.
    """
    uses = {name: [ref for _, field in definition[1] for ref in _referenced(field) if ref in types]
            for name, definition in cast("dict[str, tuple[object, list[tuple[str, object]]]]", types).items()}
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            cycle = " -> ".join([*path[path.index(name):], name])
            raise TypesysError(f"the definition is recursive: {cycle}")
        if name not in done:
            for ref in uses.get(name, []):
                visit(ref, [*path, name])
            done.add(name)

    for name in types:
        visit(name, [])


@lru_cache(maxsize=256)
def _embedded_store(schema: Schema, base: Stores) -> Typestore:
    """A store with the built-in types of ``base``, overridden by the definitions in ``schema``.

    Raises:
        TypesysError: The definition cannot be parsed or is recursive.
        NameError, SyntaxError: rosbags cannot generate code for it (e.g. a constant ``1e999``).
    """
    types = parse_definitions(schema)
    _check_acyclic(types)
    store = get_typestore(base)
    for name in types:
        store.fielddefs.pop(name, None)
        store.types.pop(name, None)
    store.register(types)  # type: ignore[arg-type]
    return store


def _stores(channel: Channel) -> tuple[Typestore | None, Typestore, str]:
    """(store from embedded definitions or None, built-in store, why the embedded one is unusable) for ``channel``."""
    base = _base_store(channel)
    schema = channel.schema
    embedded, problem = None, ""
    if schema is not None and schema.data:
        try:
            embedded = _embedded_store(schema, base)
        except (TypesysError, ValueError, KeyError, NameError, SyntaxError, RecursionError) as err:
            problem = _definition_problem(err)
            log.warning("%s: the stored definition of %s cannot be used (%s); trying built-in %s types",
                        channel.topic, one_line(schema.name, 80), problem, base.value)
    return embedded, _builtin(base), problem


def _definition_problem(err: BaseException) -> str:
    """One line for why a stored definition is unusable; rosbags' parse errors quote the whole definition."""
    if isinstance(err, NameError):
        return f"a constant rosbags cannot write as code, such as 1e999: {err}"
    text = str(err)
    if text.startswith("Could not parse"):
        return one_line(text, 120)
    return one_line(f"{type(err).__name__}: {text}" if not isinstance(err, TypesysError) else text, 200)


def first_field_type(channel: Channel) -> str | None:
    """Type name of the first field of ``channel``'s message type, None if unknown.

    Read from the ``.msg`` text when the recording stores one (cheap: no typestore is built),
    else from the typestore.
    """
    schema = channel.schema
    if schema is None:
        return None
    if schema.encoding in ("ros1msg", "ros2msg") and schema.data:
        return _first_field_in_text(schema.data.decode("utf-8", errors="replace"))
    name = _typename(schema.name)
    for store in _stores(channel)[:2]:
        if store is not None and name in store.fielddefs:
            fields = store.fielddefs[name][1]
            if not fields:
                return None
            _, detail = fields[0][1]
            return detail if isinstance(detail, str) else None
    return None


def _first_field_in_text(text: str) -> str | None:
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or _CONSTANT.match(line):
            continue
        if _SEPARATOR.match(line) or line.startswith("MSG:"):
            return None
        type_name = line.split()[0]
        if type_name == "Header":
            return "std_msgs/msg/Header"
        return _typename(type_name) if "/" in type_name and "[" not in type_name else type_name
    return None


def ros_decoder(channel: Channel) -> Decoder:
    """A decoder for a ``ros1`` or ``cdr`` channel.

    Raises:
        SourceError: The channel has no type, or the type is neither defined in the recording nor
            known to the built-in store.
    """
    schema = channel.schema
    if schema is None or not schema.name:
        raise SourceError(
            f"channel {channel.topic} has no message type",
            hint="a schemaless ROS channel cannot be decoded; read its raw bytes instead",
        )
    name = _typename(schema.name)
    embedded, builtin, problem = _stores(channel)
    candidates = [store for store in (embedded, builtin) if store is not None and name in store.fielddefs]
    if not candidates and problem:
        raise SourceError(
            f"the stored definition of {one_line(schema.name, 80)} for {channel.topic} cannot be used ({problem}) "
            f"and the built-in {_base_store(channel).value} types do not include it",
            hint="the recording's message definition is damaged; re-copy the recording",
        )
    if not candidates:
        raise SourceError(
            f"no definition of {schema.name} for {channel.topic}: the recording stores none and the "
            f"built-in {_base_store(channel).value} types do not include it",
            hint="record with a rosbag2/MCAP version that stores message definitions",
        )
    if embedded is None and schema.data == b"":
        log.info("%s: recording stores no definition of %s; using built-in %s types",
                 channel.topic, schema.name, _base_store(channel).value)
    ros1 = channel.message_encoding == "ros1"
    functions: list[Callable[[bytes | memoryview, str], object]] = [
        store.deserialize_ros1 if ros1 else store.deserialize_cdr for store in candidates
    ]
    return _Decoder(channel.topic, name, functions)


class _Decoder:
    """Deserialize with the first store that can; remember a working fallback."""

    __slots__ = ("_functions", "_name", "_topic")

    def __init__(self, topic: str, name: str, functions: list[Callable[[bytes | memoryview, str], object]]) -> None:
        self._topic = topic
        self._name = name
        self._functions = functions

    def __call__(self, data: bytes | memoryview) -> object:
        view = memoryview(data)  # rosbags slices its input: keep slices zero-copy
        first_error: Exception | None = None
        for index, function in enumerate(self._functions):
            try:
                message = function(view, self._name)
            except (SerdeError, ValueError, KeyError, IndexError, TypeError) as err:
                first_error = first_error or err
                continue
            if index:
                log.warning("%s: stored definition of %s does not match the data; using built-in types",
                            self._topic, self._name)
                self._functions = self._functions[index:]
            return message
        raise SourceError(
            f"cannot decode a message on {self._topic} as {self._name}: {one_line(first_error)}",
            hint="the payload does not match its definition; the recording may be damaged",
        ) from first_error
