"""Field paths into decoded messages: ``pose.position.x``, ``position[3]``, ``status[0].name``.

Works on rosbags message objects and protobuf messages (attributes), dicts (keys, e.g. JSON and
Rerun components) and sequences/numpy arrays (indices). A path is parsed once and cached.

An array element can also be selected by the value of its fields rather than its position:
``transforms[child_frame_id=base_link]``, ``transforms[header.frame_id=odom, child_frame_id=base_link]``,
``detections[id=3]`` (the first element whose fields all equal the given values; a value may be quoted,
``[name='left arm']``, and is compared as a number when the field is numeric). Arrays such as TF's ``transforms``
hold different things in different messages, so a message without such an element raises :class:`NoElement`,
which callers treat as "this message carries no value" rather than as a broken recording.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from roboflow.errors import SourceError

__all__ = ["NoElement", "compile_field_path", "get_field"]

_VALUE = r"""'[^']*'|"[^"]*"|[^,\]'"]*"""
_CONDITION = re.compile(rf"\s*([A-Za-z_][\w.]*)\s*=\s*({_VALUE})\s*(?:,|$)")
_TOKEN = re.compile(rf"\.?([^.\[\]]+)|\[(-?\d+)\]|\[((?:\s*[A-Za-z_][\w.]*\s*=\s*(?:{_VALUE})\s*,?)+)\]")
_HINT = "write fields like 'pose.position.x', 'position[3]' or 'transforms[child_frame_id=base_link]'"
#: Distinct values of the selecting fields listed when no element matches.
_MAX_SHOWN = 8


class NoElement(SourceError):
    """No element of an array has the selected field values (in this message).

    Attributes:
        selector: The selection as written, e.g. ``transforms[child_frame_id=base_link]``.
        seen: What the array's elements have instead (``child_frame_id=odom``), at most a few.
    """

    def __init__(self, selector: str, seen: tuple[str, ...]) -> None:
        shown = ", ".join(seen) if seen else "none (the array is empty)"
        super().__init__(f"no element {selector}", hint=f"its elements have {shown}")
        self.selector = selector
        self.seen = seen


@dataclass(frozen=True, slots=True)
class _Select:
    """A path step choosing the first array element whose fields equal the given texts."""

    conditions: tuple[tuple[str, str], ...]

    def __str__(self) -> str:
        return "[" + ", ".join(f"{key}={value}" for key, value in self.conditions) + "]"


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
    steps: list[str | int | _Select] = []
    position = 0
    while position < len(path):
        match = _TOKEN.match(path, position)
        if match is None or (position == 0 and path.startswith(".")):
            raise SourceError(f"invalid field path {path!r} at character {position + 1}", hint=_HINT)
        if match[1] is not None:
            steps.append(match[1])
        elif match[2] is not None:
            steps.append(int(match[2]))
        else:
            steps.append(_select(match[3]))
        position = match.end()
    if not steps:
        raise SourceError("empty field path", hint=_HINT)
    frozen = tuple(steps)

    def getter(message: object) -> object:
        value = message
        for depth, step in enumerate(frozen):
            value = _step(value, step, path, depth)
        return value

    return getter


def _select(text: str) -> _Select:
    conditions = []
    for match in _CONDITION.finditer(text):
        value = match[2].strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        compile_field_path(match[1])  # a bad key path is reported when the path is parsed
        conditions.append((match[1], value))
    return _Select(tuple(conditions))


def _step(value: object, step: str | int | _Select, path: str, depth: int) -> object:
    if isinstance(step, _Select):
        return _find(value, step, path, depth)
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


def _find(value: object, select: _Select, path: str, depth: int) -> object:
    """The first element of ``value`` whose fields equal ``select``'s values."""
    if isinstance(value, (str, bytes, Mapping)) or not hasattr(value, "__iter__"):
        raise SourceError(f"field path {path!r}: {_render(path, depth)} ({type(value).__name__}) is not an array",
                          hint="select elements of arrays of messages, e.g. transforms[child_frame_id=base_link]")
    seen: dict[str, None] = {}
    for element in value:
        try:
            found = [compile_field_path(key)(element) for key, _ in select.conditions]
        except SourceError as err:
            where = f"the elements of {_render(path, depth)}" if depth else "the elements"
            raise SourceError(f"field path {path!r}: {where} have no {', '.join(k for k, _ in select.conditions)}",
                              hint=f"they have {_available(element)}") from err
        if all(_equal(have, want) for have, (_, want) in zip(found, select.conditions, strict=True)):
            return element
        if len(seen) < _MAX_SHOWN:
            seen.setdefault(", ".join(f"{key}={have}" for (key, _), have in zip(select.conditions, found, strict=True)))
    raise NoElement(f"{_render(path, depth).strip(chr(39))}{select}" if depth else str(select), tuple(seen))


def _equal(have: object, want: str) -> bool:
    """Whether a field value equals the text of a selection (numerically for numbers, true/false for bools)."""
    if isinstance(have, str):
        return have == want
    if isinstance(have, bool) or type(have).__name__ == "bool_":
        return want.lower() == str(bool(have)).lower()
    if isinstance(have, (int, float)) or hasattr(have, "dtype"):
        try:
            return float(want) == float(have)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return False
    return str(have) == want


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
        names = [name for name in value.__dataclass_fields__ if not name.startswith("__")]  # not __msgtype__
    elif hasattr(value, "DESCRIPTOR"):
        names = [field.name for field in value.DESCRIPTOR.fields]
    elif hasattr(value, "__len__"):
        size = len(value)
        return f"indices 0..{size - 1}" if size else "nothing (empty sequence)"
    else:
        return "nothing (not a message)"
    return ", ".join(names[:20]) + (", ..." if len(names) > 20 else "")
