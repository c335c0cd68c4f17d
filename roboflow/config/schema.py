"""TOML text -> :class:`~roboflow.config.model.Config`, with one clear error per problem.

Every table is read through :class:`_Table`, which knows the table's valid keys: an unknown key is reported with
the closest valid one (difflib), a value of the wrong type with what was expected. The schema is small and the
messages matter more than generality, so this is hand-written rather than built on a validation library.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import tomllib
from collections.abc import Iterable
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar

from roboflow.config.model import (
    Config,
    DatasetSettings,
    EpisodeRules,
    FlushingSettings,
    Mapping,
    MappingType,
    MissingJoint,
    Policy,
    SourceSettings,
    StreamingSettings,
    TimeSource,
    TopicInput,
    VideoConfig,
)
from roboflow.decode.fields import compile_field_path
from roboflow.errors import ConfigError, SourceError
from roboflow.media.settings import VideoSettings

__all__ = ["FORMATS", "MAX_CONFIG_BYTES", "closest", "load_config", "parse_config", "video_settings"]

#: Dataset formats the writer produces.
FORMATS = ("v3.0", "v2.1")
#: Configs larger than this are refused (a config is a few kilobytes; anything bigger is a mistake).
MAX_CONFIG_BYTES = 1024 * 1024
SOURCE_TYPES = ("mcap", "bag", "ros1", "ros2", "rosbag2", "rrd")
SPLIT_RULES = ("none", "gap", "topic")

_INPUT_KEYS = ("topic", "field", "joints", "policy", "tolerance_ms", "time", "missing_joint")
_MAPPING_KEYS = ("feature", "mapping_type", "topics", "sources", "names", "depth_max", *_INPUT_KEYS)
_TOP_KEYS = ("source", "dataset", "mappings", "video", "flushing", "streaming", "episodes")

_REQUIRED = object()
_COMMENTED_FEATURE = re.compile(r'\s*#\s*feature\s*=\s*"([^"]*)"')
E = TypeVar("E", bound=Enum)


def load_config(path: str | Path) -> Config:
    """Read and validate a config file.

    Raises:
        ConfigError: The file is missing, too large, not TOML, or not a valid config.
    """
    origin = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as err:
        raise ConfigError(f"cannot read config: {err.strerror or err}", path=origin) from err
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"config is {len(raw)} bytes, more than the limit of {MAX_CONFIG_BYTES}", path=origin)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(f"config is not UTF-8 text ({err.reason} at byte {err.start})", path=origin) from err
    return parse_config(text, origin=origin)


def parse_config(text: str, origin: str = "<config>") -> Config:
    """Validate TOML text; ``origin`` names it in error messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"not valid TOML: {err}", path=origin) from err
    top = _Table(data, "config", _TOP_KEYS, origin)
    dataset = _dataset(top.table("dataset", required=True))
    if "mappings" not in data:
        raise ConfigError("config: missing required key 'mappings'", path=origin, hint=_commented_mappings(text))
    mappings_raw = top.get("mappings", list, _REQUIRED, "an array of tables [[mappings]]")
    if not mappings_raw:
        raise ConfigError("[[mappings]] is empty: a dataset needs at least one feature", path=origin)
    mappings = tuple(
        _mapping(_Table.of(item, _mapping_label(item, n), _MAPPING_KEYS, origin), dataset)
        for n, item in enumerate(mappings_raw, 1)
    )
    _check_unique_features(mappings, origin)
    config = Config(
        dataset=dataset,
        mappings=mappings,
        source=_source(top.table("source")),
        video=_video(top.table("video")),
        flushing=_flushing(top.table("flushing")),
        streaming=_streaming(top.table("streaming")),
        episodes=_episodes(top.table("episodes")),
        text=text,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        origin=origin,
    )
    if config.episodes.split == "topic" and config.episodes.topic is None:
        raise ConfigError("[episodes] split = \"topic\" needs topic = \"/marker/topic\"", path=origin)
    return config


def _commented_mappings(text: str) -> str:
    """What to do about a config without mappings: uncomment the commented ``[[mappings]]`` blocks of a starter
    config (named by feature and line), else add one."""
    blocks: list[str] = []
    lines = text.splitlines()
    for number, line in enumerate(lines, 1):
        if line.strip() != "# [[mappings]]":
            continue
        feature = next((m[1] for later in lines[number:number + 4] if (m := _COMMENTED_FEATURE.match(later))), "?")
        blocks.append(f"{feature} (line {number})")
    if not blocks:
        return "add a [[mappings]] table per feature; `roboflow init-config RECORDING` writes a starter config"
    shown = ", ".join(blocks[:8]) + (f", ... ({len(blocks)} blocks)" if len(blocks) > 8 else "")
    return f"uncomment at least one of its commented [[mappings]] blocks: {shown}"


def closest(word: str, candidates: Iterable[str]) -> list[str]:
    """Candidates ordered by similarity to ``word``, most similar first (ties keep their order)."""
    options = list(candidates)
    return sorted(options, key=lambda c: -difflib.SequenceMatcher(None, word, c).ratio())


class _Table:
    """One TOML table being validated: its location, valid keys and typed getters."""

    def __init__(self, data: dict[str, Any], where: str, allowed: Iterable[str], origin: str) -> None:
        self.data = data
        self.where = where
        self.origin = origin
        allowed = tuple(allowed)
        for key in data:
            if key not in allowed:
                near = difflib.get_close_matches(key, allowed, n=1, cutoff=0.5)
                hint = f"did you mean '{near[0]}'?" if near else f"valid keys: {', '.join(allowed)}"
                raise ConfigError(f"{where}: unknown key '{key}'", path=origin, hint=hint)

    @classmethod
    def of(cls, value: object, where: str, allowed: Iterable[str], origin: str) -> _Table:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a table, got {_describe(value)}", path=origin)
        return cls(value, where, allowed, origin)

    def error(self, key: str, message: str, hint: str | None = None) -> ConfigError:
        return ConfigError(f"{self.where} {key}: {message}", path=self.origin, hint=hint)

    def has(self, key: str) -> bool:
        return key in self.data

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = None, expected: str = "") -> Any:
        if key not in self.data:
            if default is _REQUIRED:
                raise ConfigError(f"{self.where}: missing required key '{key}'", path=self.origin)
            return default
        value = self.data[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in kinds:
            raise self.error(key, f"expected {expected or _kind_name(kinds)}, got {_describe(value)}")
        if not isinstance(value, kinds):
            raise self.error(key, f"expected {expected or _kind_name(kinds)}, got {_describe(value)}")
        return value

    def table(self, key: str, *, required: bool = False) -> _Table:
        value = self.get(key, dict, _REQUIRED if required else {}, f"a table [{key}]")
        return _Table.of(value, f"[{key}]", _ALLOWED[key], self.origin)

    def text(self, key: str, default: Any = None, *, nonempty: bool = True) -> Any:
        value = self.get(key, str, default, "a string")
        if nonempty and isinstance(value, str) and not value.strip():
            raise self.error(key, "must not be empty")
        return value

    def integer(self, key: str, default: Any = None, *, minimum: int | None = None) -> Any:
        value = self.get(key, int, default, "an integer")
        if value is not None and minimum is not None and value < minimum:
            raise self.error(key, f"must be >= {minimum}, got {value}")
        return value

    def number(self, key: str, default: Any = None, *, positive: bool = False) -> Any:
        value = self.get(key, (int, float), default, "a number")
        if value is not None and positive and value <= 0:
            raise self.error(key, f"must be > 0, got {value}")
        return None if value is None else float(value)

    def flag(self, key: str, default: bool) -> bool:
        value: bool = self.get(key, bool, default, "true or false")
        return value

    def strings(self, key: str, default: Any = None, *, one_or_many: bool = False) -> Any:
        value = self.get(key, (list, str) if one_or_many else list, default, "a list of strings")
        if value is None or value is default:
            return value
        items = [value] if isinstance(value, str) else value
        if not items or not all(isinstance(v, str) and v for v in items):
            raise self.error(key, "expected a non-empty list of non-empty strings")
        return tuple(items)

    def choice(self, key: str, options: Iterable[str], default: Any = None) -> Any:
        value = self.text(key, default)
        options = tuple(options)
        if value is not None and value not in options:
            near = difflib.get_close_matches(value, options, n=1, cutoff=0.5)
            hint = f"did you mean '{near[0]}'?" if near else None
            raise self.error(key, f"'{value}' is not one of {', '.join(options)}", hint)
        return value

    def enum(self, key: str, kind: type[E], default: E | None) -> E | None:
        value = self.choice(key, [m.value for m in kind], None)
        return default if value is None else kind(value)


_ALLOWED: dict[str, tuple[str, ...]] = {
    "source": ("type", "path", "topics"),
    "dataset": ("name", "fps", "robot_type", "task", "task_topic", "format", "time"),
    "video": ("codec", "crf", "preset", "gop", "pix_fmt", "threads"),
    "flushing": ("max_frames_per_chunk", "max_memory_bytes"),
    "streaming": ("finalize_metadata_in_coordinator",),
    "episodes": ("split", "gap_s", "topic", "min_frames"),
}


def _dataset(t: _Table) -> DatasetSettings:
    name = t.text("name", _REQUIRED)
    fps = t.integer("fps", _REQUIRED, minimum=1)
    if fps > 1000:
        raise t.error("fps", f"{fps} is not a plausible frame rate (1..1000)")
    return DatasetSettings(
        name=name,
        fps=fps,
        robot_type=t.text("robot_type", "unknown"),
        task=t.text("task"),
        task_topic=t.text("task_topic"),
        format=t.choice("format", FORMATS, "v3.0"),
        time=t.enum("time", TimeSource, TimeSource.LOG) or TimeSource.LOG,
    )


def _source(t: _Table) -> SourceSettings:
    return SourceSettings(
        type=t.choice("type", SOURCE_TYPES),
        path=t.text("path"),
        topics=t.strings("topics", ()),
    )


def _video(t: _Table) -> VideoConfig:
    video = VideoConfig(
        codec=t.text("codec"),
        crf=t.integer("crf", minimum=0),
        preset=_stringish(t, "preset"),
        gop=t.integer("gop", minimum=1),
        pix_fmt=t.text("pix_fmt"),
        threads=t.integer("threads", minimum=1),
    )
    try:
        video_settings(video)
    except ConfigError as err:
        raise ConfigError(f"[video]: {err.message}", path=t.origin, hint=err.hint) from err
    return video


def video_settings(video: VideoConfig) -> VideoSettings:
    """The encoder settings of ``[video]``, the writer's defaults where a key is not set.

    Raises:
        ConfigError: An unknown codec or pixel format, or a value out of range.
    """
    given = {key: getattr(video, key) for key in ("codec", "crf", "preset", "gop", "pix_fmt", "threads")}
    return VideoSettings(**{key: value for key, value in given.items() if value is not None})


def _stringish(t: _Table, key: str) -> str | None:
    """x264 presets are names, SVT-AV1 presets numbers: accept both, keep text."""
    value = t.get(key, (str, int), None, "a string or an integer")
    return None if value is None else str(value)


def _flushing(t: _Table) -> FlushingSettings:
    default = FlushingSettings()
    return FlushingSettings(
        max_frames_per_chunk=t.integer("max_frames_per_chunk", default.max_frames_per_chunk, minimum=1),
        max_memory_bytes=t.integer("max_memory_bytes", default.max_memory_bytes, minimum=1024 * 1024),
    )


def _streaming(t: _Table) -> StreamingSettings:
    default = StreamingSettings()
    return StreamingSettings(
        t.flag("finalize_metadata_in_coordinator", default.finalize_metadata_in_coordinator)
    )


def _episodes(t: _Table) -> EpisodeRules:
    default = EpisodeRules()
    return EpisodeRules(
        split=t.choice("split", SPLIT_RULES, default.split),
        gap_s=t.number("gap_s", default.gap_s, positive=True),
        topic=t.text("topic"),
        min_frames=t.integer("min_frames", default.min_frames, minimum=1),
    )


def _mapping_label(item: object, n: int) -> str:
    feature = item.get("feature") if isinstance(item, dict) else None
    return f"[[mappings]] '{feature}'" if isinstance(feature, str) and feature else f"[[mappings]] #{n}"


def _mapping(t: _Table, dataset: DatasetSettings) -> Mapping:
    feature = t.text("feature", _REQUIRED)
    where = t.where
    if "/" in feature:
        raise t.error("feature", f"'{feature}' contains '/', which LeRobot feature keys must not",
                      hint=f"use '{feature.strip('/').replace('/', '.')}'")
    kind = t.enum("mapping_type", MappingType, None)
    if kind is None:
        raise ConfigError(f"{where}: missing required key 'mapping_type' (image, state or action)",
                          path=t.origin)
    defaults = _input_options(t, kind, dataset, None)
    given = [k for k in ("topic", "topics", "sources") if t.has(k)]
    if len(given) != 1:
        raise ConfigError(f"{where}: give exactly one of 'topic', 'topics' or 'sources' (got {len(given) or 'none'})",
                          path=t.origin)
    if given[0] == "topic":
        inputs: tuple[TopicInput, ...] = (_make_input(t.text("topic"), defaults, dataset),)
    elif given[0] == "topics":
        inputs = tuple(_make_input(topic, defaults, dataset) for topic in t.strings("topics"))
    else:
        items = t.get("sources", list, None, "an array of tables [[mappings.sources]]")
        if not items:
            raise t.error("sources", "must list at least one source")
        inputs = tuple(
            _input(_Table.of(item, f"{where} source #{n}", _INPUT_KEYS, t.origin), kind, dataset, defaults)
            for n, item in enumerate(items, 1)
        )
    if kind is MappingType.IMAGE and len(inputs) != 1:
        raise ConfigError(f"{where}: an image mapping reads exactly one topic, got {len(inputs)}", path=t.origin)
    names = t.strings("names")
    if kind is MappingType.IMAGE and names is not None:
        raise t.error("names", "image features have no dimension names")
    depth_max = t.number("depth_max", None, positive=True)
    if kind is not MappingType.IMAGE and depth_max is not None:
        raise t.error("depth_max", "applies to image mappings only")
    return Mapping(feature=feature, mapping_type=kind, inputs=inputs, names=names, depth_max=depth_max)


def _input(t: _Table, kind: MappingType, dataset: DatasetSettings, defaults: dict[str, Any]) -> TopicInput:
    return _make_input(t.text("topic", _REQUIRED), _input_options(t, kind, dataset, defaults), dataset)


def _input_options(
    t: _Table, kind: MappingType, dataset: DatasetSettings, inherited: dict[str, Any] | None
) -> dict[str, Any]:
    """Per-input options of table ``t``; unset ones come from ``inherited`` (the mapping) or defaults."""
    base = inherited or {
        "fields": None,
        "joints": None,
        "policy": Policy.NEAREST if kind is MappingType.IMAGE else Policy.HOLD,
        "tolerance_ns": None,
        "time": dataset.time,
        "missing_joint": MissingJoint.ERROR,
    }
    options = dict(base)
    if t.has("field"):
        options["fields"] = t.strings("field", one_or_many=True)
        for path in options["fields"]:
            try:
                compile_field_path(path)
            except SourceError as err:  # a typo in a path is a config error, reported before any reading
                raise t.error("field", err.message, err.hint) from err
    if t.has("joints"):
        options["joints"] = t.strings("joints")
    options["policy"] = t.enum("policy", Policy, base["policy"])
    options["time"] = t.enum("time", TimeSource, base["time"])
    options["missing_joint"] = t.enum("missing_joint", MissingJoint, base["missing_joint"])
    tolerance = t.number("tolerance_ms", None, positive=True)
    if tolerance is not None:
        options["tolerance_ns"] = round(tolerance * 1e6)
    if kind is MappingType.IMAGE:
        for key in ("field", "joints", "missing_joint"):
            if t.has(key):
                raise t.error(key, "applies to state and action mappings only")
        if options["policy"] is Policy.INTERPOLATE:
            raise t.error("policy", "images cannot be interpolated", hint="use nearest, hold or drop")
    return options


def _make_input(topic: str, options: dict[str, Any], dataset: DatasetSettings) -> TopicInput:
    """The input record; ``drop`` without a tolerance gets half a frame period."""
    if options["policy"] is Policy.DROP and options["tolerance_ns"] is None:
        options = {**options, "tolerance_ns": 1_000_000_000 // (2 * dataset.fps)}
    return TopicInput(topic=topic, **options)


def _check_unique_features(mappings: tuple[Mapping, ...], origin: str) -> None:
    seen: set[str] = set()
    for mapping in mappings:
        if mapping.feature in seen:
            raise ConfigError(f"feature '{mapping.feature}' is mapped twice", path=origin,
                              hint="list several topics of one feature in one mapping's 'topics'")
        seen.add(mapping.feature)


def _kind_name(kinds: tuple[type, ...]) -> str:
    names = {str: "a string", int: "an integer", float: "a number", bool: "true or false", list: "a list",
             dict: "a table"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _describe(value: object) -> str:
    names = {str: "string", int: "integer", float: "number", bool: "boolean", list: "list", dict: "table"}
    kind = names.get(type(value), type(value).__name__)
    if isinstance(value, dict):
        return "a table"
    shown = repr(value)
    return f"{kind} {shown if len(shown) <= 40 else shown[:37] + '...'}"

