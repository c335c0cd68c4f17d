"""Rerun ``.rrd`` recordings, read with rerun-sdk's chunk reader.

Each entity path is a topic (``/__properties`` included: it holds the recording's properties);
each row of a chunk with component data is a message whose payload is a one-row Arrow IPC stream
of that row's components (message encoding ``rerun-arrow``, decoded by
:mod:`roboflow.decode.rerun` into a dict such as ``{"Scalars:scalars": array([0.5])}``). The
channel's type names the entity's archetypes, e.g. ``Image`` or ``Asset3D+Transform3D``.

A row's log time is its time on the recording's clock, the data's own timeline chosen by
:func:`roboflow.sources.rrd_timelines.choose_clock` (a user timeline, not Rerun's ``log_time`` unless
there is no other); rows of chunks not logged on that timeline are left out. Its header stamp is its
first user timestamp timeline (such as ``sensor_time``), if any. Static rows (no timeline: URDFs,
meshes, properties) get the recording's earliest time; those of an entity that also has rows on the clock
(a series' names and colors, a ``VideoStream``'s codec, an ``AssetVideo``) are not messages but hold for every
row, as in Rerun: the channel's schema data is their last values, a one-row Arrow IPC stream that the decoder
adds to each row. Opening scans the file once (legacy
RRDs have no index) to list entities, timelines and chunk time ranges; reading then streams chunks again in
file order, in time order via :func:`roboflow.sources.ordering.merge_in_order`. rerun-sdk reads
only files, so a stream is spooled to a temporary file. Files written by a Rerun version that
rerun-sdk cannot migrate (older than 0.23, read from the file's header) fail with a SourceError naming the
writer's version and the versions rerun-sdk reads, rather than as a damaged file.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from roboflow.errors import SourceError
from roboflow.sources.base import Channel, ChannelStats, ClosingSource, RawMessage, Schema
from roboflow.sources.ordering import NO_FLOOR, merge_in_order, suffix_floors
from roboflow.sources.rrd_timelines import LOG_TIME, Clock, Timeline, choose_clock, describe_timelines
from roboflow.sources.streams import Input, describe, open_binary, spool

__all__ = ["RRD_MAGICS", "RrdSource"]

RRD_MAGICS = (b"RRF2", b"RRF1", b"RRF0", b"RRIS")
#: The oldest Rerun (major, minor) whose files rerun-sdk reads (it migrates them; older ones it refuses).
MIN_VERSION = (0, 23)


@dataclass(frozen=True, slots=True)
class _ChunkInfo:
    """One chunk of the file, in file order: its entity and the range of its row times on the clock."""

    entity: str
    start: int
    end: int
    rows: int


@dataclass(frozen=True, slots=True)
class _ChunkSpans:
    """What the scan keeps of a chunk: per timeline (kind, first, last value) over its data rows."""

    entity: str
    spans: dict[str, tuple[str, int, int]]
    rows: int


def _rerun() -> Any:
    os.environ.setdefault("RUST_LOG", "error")  # rerun-sdk logs migration notes to stderr otherwise
    try:
        import rerun
        import rerun.chunk
    except ImportError as err:
        raise SourceError("reading .rrd files needs rerun-sdk", hint="pip install 'roboflow[rrd]'") from err
    return rerun


class RrdSource(ClosingSource):
    """A Rerun ``.rrd`` file or stream.

    Args:
        source: Path or seekable binary stream.
        name: Name used in errors and ``path``.
        clock: The config's choice of timeline; None (``inspect``) never refuses an ambiguous recording.

    Attributes:
        timelines: The recording's timelines, by name.
        clock: The timeline whose times are the messages' log times (None: the recording has only static data).

    Raises:
        SourceError: Empty, not an RRD, unsupported Rerun version, unreadable; a timeline choice that does not fit.
    """

    format = "rrd"

    def __init__(self, source: Input, *, name: str | None = None, clock: Clock | None = None) -> None:
        self.path = describe(source, name)
        self._tempdir: tempfile.TemporaryDirectory[str] | None = None
        stream, owned = open_binary(source, self.path)
        try:
            head = stream.read(8)
            if not isinstance(source, (str, os.PathLike)):
                self._tempdir = tempfile.TemporaryDirectory(prefix="roboflow-rrd-")
                self._file = spool(stream, ".rrd", self._tempdir.name)
            else:
                self._file = Path(source)
        finally:
            if owned:
                stream.close()
        try:
            self._check(head)
            self._rerun = _rerun()
            self._check_version(head)
            self._scan(clock)
        except BaseException:
            self.close()
            raise

    def _check(self, head: bytes) -> None:
        if not head:
            raise SourceError("file is empty (0 bytes)", path=self.path,
                              hint="the recording was never written or the copy failed; re-copy it")
        if head[:4] not in RRD_MAGICS:
            raise SourceError(f"not a Rerun .rrd file (starts with {head[:8]!r})", path=self.path,
                              hint="check that this is an .rrd recording")
        self.writer_version = ".".join(str(part) for part in head[4:7])

    def _check_version(self, head: bytes) -> None:
        """Refuse files of a Rerun older than rerun-sdk reads, naming the writer's version from the header."""
        if head[:4] != b"RRF2":
            raise self._too_old(f"an old Rerun ({head[:4].decode()} format)")
        if tuple(head[4:6]) < MIN_VERSION:
            raise self._too_old(f"Rerun {self.writer_version}")

    def _too_old(self, writer: str) -> SourceError:
        readable = ".".join(map(str, MIN_VERSION))
        return SourceError(
            f"written by {writer}; rerun-sdk {self._rerun.__version__} reads files of Rerun {readable} and newer",
            path=self.path, hint=f"re-save it with Rerun {readable} or newer",
        )

    def _reader(self) -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "legacy format without footer": expected, we stream
            try:
                return self._rerun.chunk.RrdReader(str(self._file))
            except (RuntimeError, ValueError, OSError) as err:
                raise self._error(err) from err

    def _error(self, err: Exception) -> SourceError:
        text = str(err)
        if "incompatible" in text or "old .rrd" in text:  # rerun-sdk's words for a version it cannot migrate
            return self._too_old(f"Rerun {self.writer_version}")
        return SourceError(f"unreadable .rrd: {text}", path=self.path,
                           hint="the file is damaged or truncated; re-copy it")

    def _chunks(self) -> Iterator[Any]:
        try:
            yield from self._reader().stream()
        except (RuntimeError, ValueError) as err:
            raise self._error(err) from err

    def _scan(self, clock: Clock | None) -> None:
        archetypes: dict[str, set[str]] = {}
        scanned: list[_ChunkSpans] = []
        statics: dict[str, dict[str, Any]] = {}
        for chunk in self._chunks():
            batch = chunk.to_record_batch()
            archetypes.setdefault(chunk.entity_path, set()).update(_archetypes(batch))
            rows = _data_rows(batch)
            spans = {}
            indexes = _indexes(batch)
            for name, kind, values in indexes:
                picked = [value for value in (values[row] for row in rows) if value is not None]
                if picked:
                    spans[name] = (kind, min(picked), max(picked))
            scanned.append(_ChunkSpans(chunk.entity_path, spans, len(rows)))
            if rows and not indexes:  # static: its last row's components hold for the entity's rows in time
                static = statics.setdefault(chunk.entity_path, {})
                static.update({name: batch.column(name).slice(rows[-1], 1) for name in batch.schema.names
                               if ":" in name and batch.column(name)[rows[-1]].is_valid})
        self.timelines = _timelines(scanned)
        self.clock, self._unit = choose_clock(self.timelines, clock, self.path)
        #: Entities with rows on the clock: their static rows (names, colors of a series) are not messages.
        self._temporal = {chunk.entity for chunk in scanned if chunk.rows and self.clock in chunk.spans}
        self._static = frozenset(archetypes) - {chunk.entity for chunk in scanned if chunk.spans}
        self._infos = [self._info(chunk) for chunk in scanned]
        self._origin = min((info.start for info in self._infos if info.start >= 0), default=0)
        self._infos = [info if info.start >= 0 else _ChunkInfo(info.entity, self._origin, self._origin, info.rows)
                       for info in self._infos]
        self._channels: dict[int, Channel] = {}
        self._stats: dict[int, ChannelStats] = {}
        self._by_entity: dict[str, Channel] = {}
        for number, entity in enumerate(sorted(archetypes), start=1):
            held = _ipc(statics[entity]) if entity in self._temporal and entity in statics else b""
            schema = Schema("+".join(sorted(archetypes[entity])) or "(empty)", "rerun", held)
            channel = Channel(number, entity, "rerun-arrow", schema, {"rerun_version": self.writer_version})
            self._channels[number] = channel
            self._by_entity[entity] = channel
            infos = [info for info in self._infos if info.entity == entity and info.rows]
            count = sum(info.rows for info in infos)
            self._stats[number] = ChannelStats(count, min((i.start for i in infos), default=None),
                                               max((i.end for i in infos), default=None))

    def _info(self, chunk: _ChunkSpans) -> _ChunkInfo:
        """The chunk on the clock: static (start -1, placed at the origin later), or left out (0 rows)."""
        if not chunk.spans:
            return _ChunkInfo(chunk.entity, -1, -1, 0 if chunk.entity in self._temporal else chunk.rows)
        span = chunk.spans.get(self.clock) if self.clock is not None else None
        if span is None:
            return _ChunkInfo(chunk.entity, -1, -1, 0)
        return _ChunkInfo(chunk.entity, self._ns(span[1]), self._ns(span[2]), chunk.rows)

    def _ns(self, value: int) -> int:
        return value if self._unit == 1.0 else round(value * self._unit)

    @property
    def static_topics(self) -> frozenset[str]:
        """Entities with only static rows (URDF, meshes, ``/__properties``)."""
        return self._static

    @property
    def clock_advice(self) -> str:
        """How to pick another clock, for warnings about a clock that gives too few frames."""
        return (f'pick the data\'s timeline with [source] timeline = "..." (and timeline_rate for a sequence); '
                f"this recording has {describe_timelines(self.timelines) or 'no timelines'}")

    @property
    def channels(self) -> tuple[Channel, ...]:
        return tuple(self._channels.values())

    def statistics(self) -> Mapping[int, ChannelStats]:
        return self._stats

    def messages(
        self, topics: Iterable[str] | None = None, start: int | None = None, stop: int | None = None
    ) -> Iterator[RawMessage]:
        """Yield rows of the entities ``topics`` (all when None) with ``start <= time < stop``, in time order."""
        entities = set(self._by_entity) if topics is None else set(topics) & self._by_entity.keys()
        if not entities:
            return
        floors = suffix_floors([info.start if info.rows and info.entity in entities else NO_FLOOR
                                for info in self._infos])
        blocks = (self._rows(chunk, start, stop) if chunk.entity_path in entities else []
                  for chunk in self._chunks())
        yield from merge_in_order(blocks, floors)

    def _rows(self, chunk: Any, start: int | None, stop: int | None) -> list[RawMessage]:
        batch = chunk.to_record_batch()
        channel = self._by_entity[chunk.entity_path]
        times, stamps, temporal = self._times(batch)
        if (times is None) if temporal else (chunk.entity_path in self._temporal):
            return []  # not logged on the clock's timeline, or static properties of a time series
        components = [index for index, name in enumerate(batch.schema.names) if ":" in name]
        data = batch.select(components)
        data = data.replace_schema_metadata(None)
        out = []
        for row in _data_rows(batch):
            value = times[row] if times is not None else None
            if times is not None and value is None:
                continue  # a row of this chunk not logged on the clock's timeline
            log_time = self._ns(value) if value is not None else self._origin
            if (start is not None and log_time < start) or (stop is not None and log_time >= stop):
                continue
            stamp = stamps[row] if stamps is not None else None
            out.append(RawMessage(channel, log_time, _ipc_batch(data.slice(row, 1)), stamp))
        return out

    def _times(self, batch: Any) -> tuple[list[int | None] | None, list[int] | None, bool]:
        """(clock values, header stamps, whether the chunk has any timeline) of a chunk's rows.

        Header stamps come from the first user timestamp timeline.
        """
        import pyarrow as pa

        indexes = _indexes(batch)
        times = next((values for name, _, values in indexes if name == self.clock), None)
        users = [f.name for f in batch.schema if pa.types.is_timestamp(f.type) and f.name != LOG_TIME]
        stamps = _column(batch, users[0]) if users else None
        return times, stamps, bool(indexes)

    def close(self) -> None:
        """Remove the temporary copy of a streamed file. Idempotent."""
        if self._tempdir is not None:
            self._tempdir.cleanup()
            self._tempdir = None


def _ipc(columns: dict[str, Any]) -> bytes:
    """One-row component columns as an Arrow IPC stream (a static row's payload)."""
    import pyarrow as pa

    return _ipc_batch(pa.RecordBatch.from_arrays(list(columns.values()), names=list(columns)))


def _ipc_batch(batch: Any) -> bytes:
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(batch)
    data: bytes = sink.getvalue().to_pybytes()
    return data


def _archetypes(batch: Any) -> set[str]:
    names = set()
    for field in batch.schema:
        archetype = (field.metadata or {}).get(b"rerun:archetype")
        if archetype:
            names.add(archetype.decode().rsplit(".", 1)[-1])
        elif ":" in field.name:
            names.add(field.name.split(":", 1)[0])
    return names


def _indexes(batch: Any) -> list[tuple[str, str, list[int | None]]]:
    """(name, kind, values) of every timeline column of a chunk."""
    import pyarrow as pa

    out = []
    for index, field in enumerate(batch.schema):
        if (field.metadata or {}).get(b"rerun:kind") != b"index" and field.name != LOG_TIME:
            continue
        kind = ("timestamp" if pa.types.is_timestamp(field.type) else
                "duration" if pa.types.is_duration(field.type) else "sequence")
        out.append((field.name, kind, batch.column(index).cast(pa.int64()).to_pylist()))
    return out


def _timelines(chunks: list[_ChunkSpans]) -> dict[str, Timeline]:
    found: dict[str, Timeline] = {}
    for chunk in chunks:
        for name, (kind, first, last) in chunk.spans.items():
            known = found.get(name)
            found[name] = Timeline(name, kind, first, last, chunk.rows) if known is None else Timeline(
                name, kind, min(known.start, first), max(known.end, last), known.rows + chunk.rows)
    return dict(sorted(found.items(), key=lambda item: (not item[1].is_user, item[0])))


def _column(batch: Any, name: str) -> list[int] | None:
    import pyarrow as pa

    column = batch.column(name).cast(pa.int64())
    return column.to_pylist() if column.null_count == 0 else None


def _data_rows(batch: Any) -> list[int]:
    """Rows holding at least one component value."""
    columns = [batch.column(index) for index, name in enumerate(batch.schema.names) if ":" in name]
    if not columns:
        return []
    return [row for row in range(batch.num_rows) if any(column[row].is_valid for column in columns)]
