"""How a damaged (typically truncated) recording is reported.

A source that finds damage while indexing keeps the messages before it readable: ``messages()``
yields them and then raises :meth:`Damage.error`, and ``statistics()`` raises it directly.
"""

from __future__ import annotations

from dataclasses import dataclass

from roboflow.errors import SourceError

__all__ = ["Damage"]


@dataclass(frozen=True, slots=True)
class Damage:
    """Where a recording stops being readable.

    Attributes:
        offset: Byte offset of the first unreadable record.
        size: Size of the file in bytes.
        messages: Number of messages readable before the damage.
        what: What was found there, e.g. ``"record claims 5000 bytes, 120 remain"``.
    """

    offset: int
    size: int
    messages: int
    what: str

    def error(self, path: str) -> SourceError:
        """The SourceError describing this damage for the recording at ``path``."""
        return SourceError(
            f"damaged or truncated at byte {self.offset} of {self.size} ({self.what}); "
            f"{self.messages} messages before the damage are readable",
            path=path,
            hint="re-copy the file if a transfer was cut short; the messages before the damage can still be read",
        )
