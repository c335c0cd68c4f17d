"""Rerun ``.rrd`` recordings, read with rerun-sdk's chunk reader.

Each entity path is a topic (``/__properties`` included: it holds the recording's properties);
each row of a chunk with component data is a message whose payload is a one-row Arrow IPC stream
of that row's components (message encoding ``rerun-arrow``, decoded by
:mod:`roboflow.decode.rerun` into a dict such as ``{"Scalars:scalars": array([0.5])}``). The
channel's type names the entity's archetypes, e.g. ``Image`` or ``Asset3D+Transform3D``.

A row's log time is its ``log_time`` timeline (Rerun's logging clock) when the chunk has it, else
its first timestamp timeline; its header stamp is its first other timestamp timeline (a user clock
such as ``sensor_time``), if any. Static rows (no timeline) get the recording's earliest time. Opening scans the file once (legacy
RRDs have no index) to list entities and chunk time ranges; reading then streams chunks again in
file order, in log-time order via :func:`roboflow.sources.ordering.merge_in_order`. rerun-sdk reads
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
from roboflow.sources.streams import Input, describe, open_binary, spool

__all__ = ["RRD_MAGICS", "RrdSource"]

RRD_MAGICS = (b"RRF2", b"RRF1", b"RRF0", b"RRIS")
#: The oldest Rerun (major, minor) whose files rerun-sdk reads (it migrates them; older ones it refuses).
MIN_VERSION = (0, 23)
_TIMELINE = "log_time"


@dataclass(frozen=True, slots=True)
class _ChunkInfo:
    """One chunk of the file, in file order: its entity and the range of its row times."""

    entity: str
    start: int
    end: int
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

    Raises:
        SourceError: Empty, not an RRD, unsupported Rerun version, unreadable.
    """

    format = "rrd"

    def __init__(self, source: Input, *, name: str | None = None) -> None:
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
            self._scan()
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

    def _scan(self) -> None:
        archetypes: dict[str, set[str]] = {}
        self._infos: list[_ChunkInfo] = []
        for chunk in self._chunks():
            batch = chunk.to_record_batch()
            archetypes.setdefault(chunk.entity_path, set()).update(_archetypes(batch))
            times, rows = _times(batch)[0], _data_rows(batch)
            picked = [times[row] for row in rows] if times is not None and rows else [-1]
            self._infos.append(_ChunkInfo(chunk.entity_path, min(picked), max(picked), len(rows)))
        self._origin = min((info.start for info in self._infos if info.start >= 0), default=0)
        self._infos = [info if info.start >= 0 else _ChunkInfo(info.entity, self._origin, self._origin, info.rows)
                       for info in self._infos]
        self._channels: dict[int, Channel] = {}
        self._stats: dict[int, ChannelStats] = {}
        self._by_entity: dict[str, Channel] = {}
        for number, entity in enumerate(sorted(archetypes), start=1):
            schema = Schema("+".join(sorted(archetypes[entity])) or "(empty)", "rerun", b"")
            channel = Channel(number, entity, "rerun-arrow", schema, {"rerun_version": self.writer_version})
            self._channels[number] = channel
            self._by_entity[entity] = channel
            infos = [info for info in self._infos if info.entity == entity and info.rows]
            count = sum(info.rows for info in infos)
            self._stats[number] = ChannelStats(count, min((i.start for i in infos), default=None),
                                               max((i.end for i in infos), default=None))

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
        import pyarrow as pa

        batch = chunk.to_record_batch()
        channel = self._by_entity[chunk.entity_path]
        times, stamps = _times(batch)
        components = [index for index, name in enumerate(batch.schema.names) if ":" in name]
        data = batch.select(components)
        data = data.replace_schema_metadata(None)
        out = []
        for row in _data_rows(batch):
            log_time = times[row] if times is not None else self._origin
            if (start is not None and log_time < start) or (stop is not None and log_time >= stop):
                continue
            sink = pa.BufferOutputStream()
            with pa.ipc.new_stream(sink, data.schema) as writer:
                writer.write_batch(data.slice(row, 1))
            stamp = stamps[row] if stamps is not None else None
            out.append(RawMessage(channel, log_time, sink.getvalue().to_pybytes(), stamp))
        return out

    def close(self) -> None:
        """Remove the temporary copy of a streamed file. Idempotent."""
        if self._tempdir is not None:
            self._tempdir.cleanup()
            self._tempdir = None


def _archetypes(batch: Any) -> set[str]:
    names = set()
    for field in batch.schema:
        archetype = (field.metadata or {}).get(b"rerun:archetype")
        if archetype:
            names.add(archetype.decode().rsplit(".", 1)[-1])
        elif ":" in field.name:
            names.add(field.name.split(":", 1)[0])
    return names


def _times(batch: Any) -> tuple[list[int] | None, list[int] | None]:
    """(log times, header stamps) per row in ns; None when the chunk has no such timeline.

    Log times come from ``log_time``, else the first timestamp timeline; stamps from the first
    timestamp timeline other than ``log_time``.
    """
    import pyarrow as pa

    clocks = [f.name for f in batch.schema if pa.types.is_timestamp(f.type) and f.name != _TIMELINE]
    user = _column(batch, clocks[0]) if clocks else None
    logged = _column(batch, _TIMELINE) if _TIMELINE in batch.schema.names else None
    return (logged if logged is not None else user), user


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
