"""Field paths into decoded messages: ``pose.position.x``, ``position[3]``, ``status[0].name``.

Works on rosbags message objects and protobuf messages (attributes), dicts (keys, e.g. JSON and
Rerun components) and sequences/numpy arrays (indices). A path is parsed once and cached.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import lru_cache

from roboflow.errors import SourceError

__all__ = ["compile_field_path", "get_field"]

_TOKEN = re.compile(r"\.?([^.\[\]]+)|\[(-?\d+)\]")


def get_field(message: object, path: str) -> object:
    """Return the value at ``path`` in ``message``.

    Raises:
        SourceError: The path does not exist in this message (the message names what does).
    """
    return compile_field_path(path)(message)


@lru_cache(maxsize=1024)
def compile_field_path(path: str) -> Callable[[object], object]:
    """Parse ``path`` once into a getter function.

    Raises:
        SourceError: ``path`` is not a valid field path.
    """
    steps: list[str | int] = []
    position = 0
    while position < len(path):
        match = _TOKEN.match(path, position)
        if match is None or (position == 0 and path.startswith(".")):
            raise SourceError(
                f"invalid field path {path!r} at character {position + 1}",
                hint="write fields like 'pose.position.x' or 'position[3]'",
            )
        steps.append(match[1] if match[1] is not None else int(match[2]))
        position = match.end()
    if not steps:
        raise SourceError("empty field path", hint="write fields like 'pose.position.x' or 'position[3]'")
    frozen = tuple(steps)

    def getter(message: object) -> object:
        value = message
        for depth, step in enumerate(frozen):
            value = _step(value, step, path, depth)
        return value

    return getter


def _step(value: object, step: str | int, path: str, depth: int) -> object:
    try:
        if isinstance(step, int):
            return value[step]  # type: ignore[index]
        if isinstance(value, Mapping) and not hasattr(value, "DESCRIPTOR"):  # protobuf Struct is a Mapping too
            return value[step]
        return getattr(value, step)
    except (AttributeError, KeyError, IndexError, TypeError, ValueError) as err:
        where = _render(path, depth)
        raise SourceError(
            f"field path {path!r}: no {_describe(step)} in {where} ({type(value).__name__})",
            hint=f"available: {_available(value)}",
        ) from err


def _describe(step: str | int) -> str:
    return f"index [{step}]" if isinstance(step, int) else f"field {step!r}"


def _render(path: str, depth: int) -> str:
    if depth == 0:
        return "the message"
    tokens = [m.group(0) for m in _TOKEN.finditer(path)][:depth]
    return repr("".join(tokens).lstrip("."))


def _available(value: object) -> str:
    if isinstance(value, Mapping):
        names = [str(key) for key in value]
    elif hasattr(value, "__dataclass_fields__"):
        names = list(value.__dataclass_fields__)
    elif hasattr(value, "DESCRIPTOR"):
        names = [field.name for field in value.DESCRIPTOR.fields]
    elif hasattr(value, "__len__"):
        size = len(value)
        return f"indices 0..{size - 1}" if size else "nothing (empty sequence)"
    else:
        return "nothing (not a message)"
    return ", ".join(names[:20]) + (", ..." if len(names) > 20 else "")
