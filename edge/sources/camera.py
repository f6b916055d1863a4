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
import re
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
# user:password@ in any URL a message may quote.
_USERINFO = re.compile(r"://\S*@")
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

    A camera on a street glitches: a ribbon cable, an RTSP server restarting, a driver error. With
    `reopen`, any failure of the source (opening it, or reading from it, whatever the exception)
    is reported to the consumer (`take` raises it while it lasts) and the source is reopened with
    backoff, for ever, until `close`. Frame indices and timestamps keep increasing across reopens
    (the new source's clock is shifted to continue the old one, plus the wall-clock time of the
    outage), so the tracker never sees time go back. A source missing at start is the same case:
    pass `source=None` and the reader keeps trying `reopen`.

    Args:
        source: the camera (or paced clip) to read; None to open it with `reopen` in the thread.
        reopen: opens the source again after a failure; None: a failure is final (clips, tests).
        retry_initial_s: wait before the first reopen; doubles on each failure in a row.
        retry_max_s: cap on the wait between reopens.
        monotonic: clock for the outage length.
    """

    def __init__(
        self,
        source: FrameSource | None,
        *,
        reopen: Callable[[], FrameSource] | None = None,
        retry_initial_s: float = 1.0,
        retry_max_s: float = 30.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if source is None and reopen is None:
            raise ValueError("a reader needs a source or a way to open one")
        if not 0 < retry_initial_s <= retry_max_s:
            raise ValueError(f"need 0 < retry_initial_s <= retry_max_s, got {retry_initial_s}, {retry_max_s}")
        self._source = source
        self._reopen = reopen
        self._retry_initial_s = retry_initial_s
        self._retry_max_s = retry_max_s
        self._monotonic = monotonic
        self._condition = threading.Condition()
        self._closed = threading.Event()
        self._latest: Frame | None = None
        self._skipped = 0
        self._failure: SourceError | None = None
        self._finished = False
        # Where a reopened source's frames must continue from: (index, timestamp_s, monotonic).
        self._last: tuple[int, float, float] | None = None
        self._thread = threading.Thread(target=self._read, name="capture", daemon=True)

    @property
    def name(self) -> str:
        source = self._source
        return source.name if source is not None else "camera (not open)"

    def start(self) -> None:
        self._thread.start()

    def take(self, timeout_s: float) -> LatestFrame | None:
        """The newest frame not taken yet, waiting up to `timeout_s`; None if none came.

        Raises:
            SourceError: the source is failing (re-raised from the reader thread while it lasts).
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
        """Stop reading (and reopening) and release the source."""
        self._closed.set()
        source = self._source
        if source is not None:
            source.close()
        if self._thread.is_alive():
            self._thread.join(_JOIN_TIMEOUT_S)
        if self._thread.is_alive():
            logger.warning("capture thread of %s did not stop within %.0f s", self.name, _JOIN_TIMEOUT_S)

    def _read(self) -> None:
        delay_s = self._retry_initial_s
        while not self._closed.is_set():
            source = self._source if self._source is not None else self._open()
            if source is not None:
                ended, delivered = self._deliver(source)
                if ended and self._reopen is None:
                    with self._condition:
                        self._finished = True
                        self._condition.notify()
                    return
                if delivered:
                    delay_s = self._retry_initial_s  # it worked for a while: start the backoff afresh
                source.close()
                self._source = None
            if self._reopen is None or self._closed.is_set():
                return  # without `reopen` a failure is final: `take` keeps raising it
            logger.warning("%s: reopening in %.0f s", self.name, delay_s)
            if self._closed.wait(delay_s):
                return
            delay_s = min(delay_s * 2.0, self._retry_max_s)

    def _open(self) -> FrameSource | None:
        assert self._reopen is not None
        try:
            source = self._reopen()
        except Exception as exc:  # any way a camera can fail to open: report it, retry
            self._fail(exc, "cannot open the camera")
            return None
        self._source = source
        return source

    def _deliver(self, source: FrameSource) -> tuple[bool, bool]:
        """Read `source` until it ends or fails: (ended without an error, delivered a frame)."""
        delivered = False
        shift: tuple[int, float] | None = None
        try:
            for raw in source:
                if self._closed.is_set():
                    return True, delivered
                if shift is None:
                    shift = self._shift_for(raw)
                frame = replace(raw, index=raw.index + shift[0], timestamp_s=raw.timestamp_s + shift[1])
                with self._condition:
                    if self._latest is not None:
                        self._skipped += 1  # the pipeline was busy: this camera frame is lost
                    self._latest, self._failure = frame, None
                    self._last = (frame.index, frame.timestamp_s, self._monotonic())
                    self._condition.notify()
                delivered = True
        except Exception as exc:  # supervisor of the capture thread: any failure is reported
            if not self._closed.is_set():
                self._fail(exc, "capture failed")
            return False, delivered
        if self._reopen is not None and not self._closed.is_set():
            self._fail(SourceError(f"{source.name}: no more frames"), "capture failed")
        return True, delivered

    def _shift_for(self, first: Frame) -> tuple[int, float]:
        """(index, seconds) to add to a freshly opened source's frames to continue the last one."""
        if self._last is None:
            return 0, 0.0
        index, timestamp_s, seen_at = self._last
        outage_s = max(0.0, self._monotonic() - seen_at)
        return index + 1 - first.index, timestamp_s + max(outage_s, 1e-3) - first.timestamp_s

    def _fail(self, exc: Exception, what: str) -> None:
        if isinstance(exc, SourceError):
            failure = exc
        else:  # a library's own message may quote a stream URL: never its credentials
            failure = SourceError(f"{what}: {type(exc).__name__}: {_USERINFO.sub('://', str(exc))}")
        with self._condition:
            first = self._failure is None
            self._failure = failure
            self._condition.notify()
        if first:
            logger.error("%s: %s", self.name, failure)
