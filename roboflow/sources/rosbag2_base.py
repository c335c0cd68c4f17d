"""What every rosbag2 storage reader (SQLite, MCAP) offers: its topics and the :class:`Storage` interface.

Kept below both readers and :mod:`roboflow.sources.rosbag2_storage` (which chooses between them), so
that no reader imports the module that imports it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from roboflow.sources.base import ChannelStats, Schema

__all__ = ["Storage", "StorageTopic"]


@dataclass(frozen=True, slots=True)
class StorageTopic:
    """One topic (SQLite ``topics`` row, or MCAP channel) of a storage file."""

    id: int
    topic: str
    message_encoding: str
    schema: Schema | None
    metadata: dict[str, str] = field(default_factory=dict)


class Storage(Protocol):
    """One storage file of a bag."""

    name: str
    distro: str

    def topics(self) -> list[StorageTopic]: ...

    def statistics(self) -> dict[int, ChannelStats]: ...

    def messages(
        self, topic_ids: Collection[int] | None, start: int | None, stop: int | None
    ) -> Iterator[tuple[int, int, bytes]]: ...

    def close(self) -> None: ...
