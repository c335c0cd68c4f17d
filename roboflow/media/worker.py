"""A :class:`VideoEncoder` on its own thread behind a bounded queue.

PyAV releases the GIL while it converts pixels and encodes, so one thread per camera encodes cameras in
parallel with each other and with the caller. The queue is bounded and :meth:`EncoderThread.put` blocks when it
is full: a slow encoder slows the caller down, it never loses a frame.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import cast

import av

from roboflow.errors import DatasetError
from roboflow.media.encoder import VideoEncoder

__all__ = ["EncoderThread"]

_END = object()
_Item = tuple[av.VideoFrame, Callable[[], None] | None]
_POLL_SECONDS = 0.5


class EncoderThread:
    """Feed frames to an encoder running on a background thread.

    Args:
        encoder: The (open) encoder; the thread owns it from now on.
        queue_frames: How many frames may wait for the encoder (memory bound).
        name: Thread name, also used in error messages (e.g. the camera key).

    Errors of the encoder (or of work handed over with a frame) are kept and raised as :class:`DatasetError`
    by the next :meth:`put` or by :meth:`wait`; after an error the thread discards what it is given until the
    end.
    """

    def __init__(self, encoder: VideoEncoder, *, queue_frames: int, name: str) -> None:
        self.encoder = encoder
        self.name = name
        self._queue: queue.Queue[_Item | object] = queue.Queue(maxsize=max(1, queue_frames))
        self._error: BaseException | None = None
        self._aborted = False
        self._ended = False
        self._thread = threading.Thread(target=self._run, name=f"encoder:{name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _END:
                break
            if self._error is None and not self._aborted:
                frame, then = cast(_Item, item)
                try:
                    self.encoder.encode(frame)
                    if then is not None:
                        then()
                except BaseException as err:  # noqa: BLE001 - handed to the producer thread
                    self._error = err
        if self._error is None and not self._aborted:
            try:
                self.encoder.close()
            except BaseException as err:  # noqa: BLE001 - handed to the producer thread
                self._error = err

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            error = self._error
            if isinstance(error, DatasetError):
                raise DatasetError(f"camera {self.name}: {error.message}", path=error.path) from error
            raise DatasetError(
                f"camera {self.name}: encoder failed: {error!r}", path=str(self.encoder.path)
            ) from error

    def _enqueue(self, item: object) -> None:
        while True:
            try:
                self._queue.put(item, timeout=_POLL_SECONDS)
                return
            except queue.Full:
                if not self._thread.is_alive():
                    raise DatasetError(f"camera {self.name}: encoder thread stopped") from None

    def put(self, frame: av.VideoFrame, then: Callable[[], None] | None = None) -> None:
        """Queue the next frame, waiting while the queue is full.

        Args:
            frame: The frame (it must not change any more: the thread reads it later).
            then: Work to run on the encoder thread after the frame is encoded (e.g. its stats).

        Raises:
            DatasetError: The encoder failed on an earlier frame, or input was already ended.
        """
        self._raise_if_failed()
        if self._ended:
            raise DatasetError(f"camera {self.name}: frame after the end of the video")
        self._enqueue((frame, then))

    def end(self) -> None:
        """Signal that no more frames come; the thread flushes and closes the file (returns at once)."""
        if not self._ended:
            self._ended = True
            self._enqueue(_END)

    def wait(self) -> int:
        """End input if needed, wait for the file to be complete, and return its number of frames.

        Raises:
            DatasetError: Encoding or finishing the file failed (the partial file is deleted).
        """
        self.end()
        self._thread.join()
        if self._error is not None:
            self.encoder.abort()
            self._raise_if_failed()
        return self.encoder.frames

    def abort(self) -> None:
        """Stop encoding, drop queued frames and delete the file (idempotent)."""
        self._aborted = True
        self._ended = True
        while True:  # drop queued frames (and an earlier end marker) so the marker below fits
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._queue.put_nowait(_END)  # only this thread puts; harmless if the worker already left
        self._thread.join()
        self.encoder.abort()
