"""Decode ahead: read a source in one daemon thread so capture and decoding overlap inference.

OpenCV and libcamera release the GIL while they decode or wait for the camera, so one reader
thread hides most of the capture time behind detection. The queue is bounded (`depth` frames), so
at most `depth` decoded frames wait in memory and a slow consumer slows the reader rather than
growing memory. An exception in the reader is re-raised, unchanged, in the consumer at the point
in the stream where it happened. The hot path is one `Queue.put` and one `Queue.get` per frame.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from edge.errors import SourceError
from edge.records import Frame
from edge.sources.base import ClosingContext

if TYPE_CHECKING:
    from collections.abc import Generator, Iterator

    from edge.sources.base import FrameSource

__all__ = ["PrefetchSource", "prefetch"]

logger = logging.getLogger(__name__)

# How often a blocked reader or consumer checks whether the source was closed, in seconds.
_POLL_S = 0.1
# How long close() waits for the reader thread; it can only stop once a pending read returns.
_JOIN_TIMEOUT_S = 2.0
_END: Final = object()


@dataclass(frozen=True, slots=True)
class _Failure:
    error: Exception


class PrefetchSource(ClosingContext):
    """Wraps a `FrameSource`; yields the same frames in the same order, read ahead in a thread.

    Iterate it once. The reader thread starts on iteration and ends when the source is exhausted,
    fails, or `close()` is called (also when the consumer stops iterating). `close()` also closes
    the wrapped source, from the calling thread, which every source in `edge.sources` supports.

    Args:
        source: the source to read ahead.
        depth: number of decoded frames that may wait in the queue (>= 1).
    """

    def __init__(self, source: FrameSource, depth: int = 2) -> None:
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth!r}")
        self._source = source
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Makes starting the reader and closing atomic with respect to each other.
        self._lifecycle = threading.Lock()

    @property
    def fps(self) -> float:
        return self._source.fps

    @property
    def name(self) -> str:
        return self._source.name

    @property
    def frame_count(self) -> int | None:
        return self._source.frame_count

    def __iter__(self) -> Iterator[Frame]:
        with self._lifecycle:
            if self._stop.is_set():
                raise SourceError(f"{self.name}: source is closed")
            if self._thread is not None:
                raise RuntimeError("a PrefetchSource can be iterated only once")
            self._thread = threading.Thread(
                target=self._read_ahead, name=f"prefetch {self.name}", daemon=True
            )
            self._thread.start()
        return self._consume()

    def _read_ahead(self) -> None:
        try:
            for frame in self._source:
                if not self._put(frame):
                    return
            self._put(_END)
        except Exception as exc:  # handed to the consumer, which re-raises it in its own thread
            self._put(_Failure(exc))
        finally:
            self._source.close()

    def _put(self, item: object) -> bool:
        """Queue `item`, waiting for room; False if the source was closed meanwhile."""
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=_POLL_S)
            except queue.Full:
                continue
            return True
        return False

    def _consume(self) -> Generator[Frame, None, None]:
        get = self._queue.get
        stopped = self._stop.is_set
        try:
            while not stopped():
                try:
                    item = get(timeout=_POLL_S)
                except queue.Empty:
                    continue
                if type(item) is Frame:
                    yield item
                elif isinstance(item, _Failure):
                    raise item.error
                else:
                    return
        finally:
            self.close()

    def close(self) -> None:
        """Stop the reader thread and close the wrapped source; idempotent."""
        with self._lifecycle:
            if self._stop.is_set():
                return
            self._stop.set()
            thread = self._thread
        self._source.close()
        if thread is None or thread is threading.current_thread():
            return
        self._drain()
        thread.join(_JOIN_TIMEOUT_S)
        if thread.is_alive():
            logger.warning(
                "%s: reader thread still busy after %.1f s; it ends when its pending read returns",
                self.name,
                _JOIN_TIMEOUT_S,
            )

    def _drain(self) -> None:
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                return


def prefetch(source: FrameSource, depth: int = 2) -> PrefetchSource:
    """Wrap `source` so frames are decoded ahead in a thread (see `PrefetchSource`)."""
    return PrefetchSource(source, depth)
