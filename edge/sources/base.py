"""The `FrameSource` contract and what every source in this package shares.

A source is iterated for `Frame`s (index from 0, media time in seconds, BGR uint8 image) and then
closed. `close()` may be called from any thread: a suspended iteration is finished at once (its
device released), one that is running in another thread stops at its next step and releases its
device itself. Names are for messages only and never carry credentials (`redact_url`).
"""

from __future__ import annotations

import math
import re
import threading
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Protocol, Self, runtime_checkable

from edge.errors import SourceError

if TYPE_CHECKING:
    from collections.abc import Generator, Iterator
    from types import TracebackType

    from edge.records import Frame

__all__ = ["FrameSource", "SourceBase", "is_usable_fps", "redact_url", "validate_fps"]

# Highest frame rate taken at face value; containers without a rate report their time base
# (e.g. 90000) instead.
MAX_PLAUSIBLE_FPS = 1000.0

_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*://).*@", re.DOTALL)
# Query parameters whose value is replaced by *** (cameras that take credentials in the query).
_SECRET_PARAMETER_WORDS = ("pass", "pwd", "token", "key", "auth", "secret", "sig", "user")


@runtime_checkable
class FrameSource(Protocol):
    """Where frames come from: a video file, an image folder, a stream or a camera."""

    @property
    def fps(self) -> float:
        """Nominal frame rate in frames per second."""
        ...

    @property
    def name(self) -> str:
        """Human-readable origin for messages; never a credentialed URL."""
        ...

    @property
    def frame_count(self) -> int | None:
        """Number of frames if known in advance (files), else None (live sources)."""
        ...

    def __iter__(self) -> Iterator[Frame]:
        """Yield frames in order; raises `SourceError` if the source cannot be read."""
        ...

    def close(self) -> None:
        """Release the device or file; idempotent and safe to call from another thread."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...


class ClosingContext(ABC):
    """`with source:` closes the source on the way out; shared by every source and wrapper."""

    @abstractmethod
    def close(self) -> None:
        """Release what the source holds; idempotent."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class SourceBase(ClosingContext):
    """Iteration bookkeeping, `close()` and context-manager support shared by all sources.

    Subclasses implement `_frames()` as a generator that acquires its device inside the generator,
    releases it in a `finally` block and checks `self._closed` once per frame.

    The generator is only ever advanced or closed while holding `_advance_lock`: closing a
    generator that is running in another thread can crash CPython (a segfault, seen with 3.11),
    and the lock turns that into "close it if idle, else let it see `_closed` and finish itself".
    """

    def __init__(self, name: str) -> None:
        self._name = name
        self._closed = threading.Event()
        self._active: Generator[Frame, None, None] | None = None
        self._advance_lock = threading.Lock()

    @property
    def name(self) -> str:
        return self._name

    @abstractmethod
    def _frames(self) -> Generator[Frame, None, None]:
        """Yield the frames of one pass over the source."""

    def __iter__(self) -> Iterator[Frame]:
        if self._closed.is_set():
            raise SourceError(f"{self._name}: source is closed")
        frames = self._frames()
        self._active = frames
        return self._advance(frames)

    def _advance(self, frames: Generator[Frame, None, None]) -> Generator[Frame, None, None]:
        lock = self._advance_lock
        try:
            while True:
                with lock:
                    frame = next(frames, None)
                if frame is None:
                    return
                yield frame
        finally:
            with lock:
                frames.close()

    def close(self) -> None:
        """End the current iteration (if any) and release the device; idempotent."""
        self._closed.set()
        frames, self._active = self._active, None
        if frames is not None and self._advance_lock.acquire(blocking=False):
            try:
                frames.close()
            finally:
                self._advance_lock.release()
        # Otherwise the generator is running in another thread; it sees `_closed` at its next
        # step (a backoff wait is interrupted) and releases the device itself.


def is_usable_fps(value: float) -> bool:
    """True if `value` is a believable frame rate (finite, positive, not a time base)."""
    return math.isfinite(value) and 0.0 < value <= MAX_PLAUSIBLE_FPS


def validate_fps(fps: float | None, argument: str = "fps") -> float | None:
    """Return `fps` as a float (or None); raise ValueError naming `argument` if it is unusable."""
    if fps is None:
        return None
    if not is_usable_fps(float(fps)):
        raise ValueError(f"{argument} must be a frame rate in (0, {MAX_PLAUSIBLE_FPS:g}], got {fps!r}")
    return float(fps)


def redact_url(url: str) -> str:
    """Return `url` without user name and password, and with secret-looking query values masked.

    Everything up to the last `@` after the scheme is treated as user info, so a password that
    itself contains `@`, `/` or `?` never leaks (at worst part of the path is dropped too).
    Strings without a `scheme://` prefix are returned unchanged.

    Example:
        >>> redact_url("rtsp://admin:s3cret@10.0.0.5:554/stream1?token=abc")
        'rtsp://10.0.0.5:554/stream1?token=***'
    """
    stripped = _USERINFO.sub(r"\1", url, count=1)
    if stripped == url and "://" not in url:
        return url
    base, separator, query = stripped.partition("?")
    if not separator:
        return stripped
    return f"{base}?{'&'.join(_mask_parameter(parameter) for parameter in query.split('&'))}"


def _mask_parameter(parameter: str) -> str:
    key, equals, _ = parameter.partition("=")
    if equals and any(word in key.lower() for word in _SECRET_PARAMETER_WORDS):
        return f"{key}=***"
    return parameter
