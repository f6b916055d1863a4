"""Camera behaviour for the service: play a clip as a live camera, and keep only the newest frame.

A live camera does not wait for the detector: when inference is slower than the camera, the
service must count the newest frame, not a growing backlog. `LatestFrameReader` reads a source in
a thread, keeps only the newest frame and counts the frames it had to skip, which the aggregator
reports as `frames_dropped`. `PacedLoopSource` turns a video file into such a camera for the demo
and for tests: frames come at the clip's frame rate in wall-clock time, looping forever, with
indices and timestamps that keep increasing across loops (the tracker must never see time go back).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, replace

from edge.errors import SourceError
from edge.records import Frame
from edge.sources.base import ClosingContext, FrameSource

logger = logging.getLogger(__name__)

# How often a waiting consumer re-checks whether the reader ended, in seconds.
_POLL_S = 0.2
# How long close() waits for the reader thread to notice.
_JOIN_TIMEOUT_S = 3.0


class PacedLoopSource(ClosingContext):
    """Plays a finite source in real time, over and over, like a camera filming it.

    Args:
        open_clip: opens a fresh pass over the clip (called once per loop).
        loops: passes to play; None plays forever.
        sleep: injected for tests.
        monotonic: injected for tests.
    """

    def __init__(
        self,
        open_clip: Callable[[], FrameSource],
        *,
        loops: int | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if loops is not None and loops < 1:
            raise ValueError(f"loops must be >= 1 or None, got {loops}")
        self._open_clip = open_clip
        self._loops = loops
        self._sleep = sleep
        self._monotonic = monotonic
        self._closed = threading.Event()
        first = open_clip()
        self._fps = first.fps
        self._name = f"{first.name} (looped as a camera)"
        first.close()

    @property
    def fps(self) -> float:
        return self._fps

    @property
    def name(self) -> str:
        return self._name

    @property
    def frame_count(self) -> int | None:
        return None

    def __iter__(self) -> Iterator[Frame]:
        return self._frames()

    def _frames(self) -> Generator[Frame, None, None]:
        period_s = 1.0 / self._fps
        started = self._monotonic()
        index = 0
        loop = 0
        while not self._closed.is_set() and (self._loops is None or loop < self._loops):
            produced = 0
            with self._open_clip() as clip:
                for frame in clip:
                    if self._closed.is_set():
                        return
                    # Real time: frame k is due k periods after the start, whatever the decode cost.
                    delay_s = started + index * period_s - self._monotonic()
                    if delay_s > 0:
                        self._sleep(delay_s)
                    yield replace(frame, index=index, timestamp_s=index * period_s)
                    index += 1
                    produced += 1
            if produced == 0:
                raise SourceError(f"{self._name}: the clip has no frames")
            loop += 1

    def close(self) -> None:
        self._closed.set()


@dataclass(frozen=True, slots=True)
class LatestFrame:
    """The newest frame and how many older frames were skipped since the previous one taken."""

    frame: Frame
    skipped: int


class LatestFrameReader:
    """Reads a source in a daemon thread and hands out only the newest frame.

    Args:
        source: the camera (or paced clip) to read.
    """

    def __init__(self, source: FrameSource) -> None:
        self._source = source
        self._condition = threading.Condition()
        self._latest: Frame | None = None
        self._skipped = 0
        self._failure: Exception | None = None
        self._finished = False
        self._thread = threading.Thread(target=self._read, name="capture", daemon=True)

    @property
    def source(self) -> FrameSource:
        return self._source

    def start(self) -> None:
        self._thread.start()

    def take(self, timeout_s: float) -> LatestFrame | None:
        """The newest frame not taken yet, waiting up to `timeout_s`; None if none came.

        Raises:
            SourceError: the source failed for good (re-raised from the reader thread).
        """
        deadline = time.monotonic() + timeout_s
        with self._condition:
            while self._latest is None:
                if self._failure is not None:
                    raise self._failure
                if self._finished:
                    return None
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._condition.wait(min(remaining, _POLL_S))
            latest = LatestFrame(self._latest, self._skipped)
            self._latest, self._skipped = None, 0
            return latest

    @property
    def ended(self) -> bool:
        """A finite source reached its end and its last frame was taken."""
        with self._condition:
            return self._finished and self._latest is None

    def close(self) -> None:
        """Stop reading and release the source."""
        self._source.close()
        self._thread.join(_JOIN_TIMEOUT_S)
        if self._thread.is_alive():
            logger.warning(
                "capture thread of %s did not stop within %.0f s", self._source.name, _JOIN_TIMEOUT_S
            )

    def _read(self) -> None:
        try:
            for frame in self._source:
                with self._condition:
                    if self._latest is not None:
                        self._skipped += 1  # the pipeline was busy: this camera frame is lost
                    self._latest = frame
                    self._condition.notify()
        except Exception as exc:  # supervisor of the capture thread: hand any failure to the consumer
            logger.exception("capture from %s failed", self._source.name)
            with self._condition:
                self._failure = exc if isinstance(exc, SourceError) else SourceError(f"capture failed: {exc}")
                self._condition.notify()
            return
        with self._condition:
            self._finished = True
            self._condition.notify()
