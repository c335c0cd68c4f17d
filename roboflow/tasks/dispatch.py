"""The fleet's :class:`~roboflow.fleet.dispatch.Dispatcher` on Celery: chord fast path, plain messages otherwise."""

from __future__ import annotations

from collections.abc import Sequence

from celery import chord

from roboflow.celery import app

__all__ = ["CeleryDispatcher"]


class CeleryDispatcher:
    """Sends roboflow's messages through ``app``'s broker."""

    def scan(self, batch_id: str) -> None:
        app.send_task("roboflow.scan_batch", (batch_id,))

    def start(self, batch_id: str, unit_ids: Sequence[str]) -> None:
        header = [app.signature("roboflow.convert_unit", (batch_id, unit_id), immutable=True) for unit_id in unit_ids]
        if not header:
            self.merge(batch_id)
            return
        chord(header)(app.signature("roboflow.merge_batch", (batch_id,), immutable=True))

    def convert(self, batch_id: str, unit_ids: Sequence[str]) -> None:
        for unit_id in unit_ids:
            app.send_task("roboflow.convert_unit", (batch_id, unit_id))

    def merge(self, batch_id: str) -> None:
        app.send_task("roboflow.merge_batch", (batch_id,))

    def convert_backlog(self) -> int | None:
        """Messages in the convert queue; 0 when the broker knows no such queue (e.g. Redis restarted empty)."""
        with app.connection_for_read() as connection:
            try:
                declared = connection.default_channel.queue_declare(queue="convert", passive=True)
            except connection.channel_errors:
                return 0
            except Exception:  # noqa: BLE001 - a broker that cannot tell: unknown, never "empty"
                return None
            return int(declared.message_count)
