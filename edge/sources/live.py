"""Live sources and their one reconnect loop: network streams and USB cameras via OpenCV.

`LiveSource` owns the policy shared by every live source (these two and `PicameraSource`): when
opening or reading fails it logs a warning (names are credential-free), releases the device,
waits with exponential backoff (doubling from `backoff_initial_s`, capped at `backoff_max_s`,
reset by the next good frame) and reopens. After `max_reconnects` consecutive reconnects that
brought no frame it raises `SourceDisconnectedError`; None means retry forever. Live timestamps
are seconds of the injected monotonic clock since the source first delivered a frame, and frame
indices keep counting across reconnects.

The default `sleep` waits on the source's close event, so `close()` from another thread also
interrupts a backoff wait.
"""

from __future__ import annotations

import logging
import time
from abc import abstractmethod
from typing import TYPE_CHECKING, cast

import cv2

from edge.errors import SourceDisconnectedError, SourceError
from edge.records import Frame, ImageArray
from edge.sources.base import SourceBase, is_usable_fps, redact_url, validate_fps

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Sequence

__all__ = ["LiveSource", "StreamSource", "UsbCameraSource"]

logger = logging.getLogger(__name__)

# Nominal rate of a live source that neither was told nor reports its rate.
DEFAULT_LIVE_FPS = 25.0
# Give up opening or reading a network stream after this long (FFmpeg's default is 30 s).
STREAM_OPEN_TIMEOUT_MS = 10_000
STREAM_READ_TIMEOUT_MS = 10_000


class LiveSource(SourceBase):
    """A source that may drop and come back; subclasses say how to connect, read and disconnect.

    Args:
        name: credential-free name for messages.
        fps: nominal rate to report; None to use what the device reports (else 25).
        backoff_initial_s: wait before the first reconnect.
        backoff_max_s: cap on the doubling wait.
        max_reconnects: consecutive fruitless reconnects before giving up; None retries forever.
        sleep: called with the wait in seconds; default waits on `close()`.
        monotonic: clock for timestamps.
    """

    def __init__(
        self,
        name: str,
        *,
        fps: float | None,
        backoff_initial_s: float,
        backoff_max_s: float,
        max_reconnects: int | None,
        sleep: Callable[[float], object] | None,
        monotonic: Callable[[], float],
    ) -> None:
        super().__init__(name)
        if not backoff_initial_s > 0:
            raise ValueError(f"backoff_initial_s must be positive, got {backoff_initial_s!r}")
        if not backoff_max_s >= backoff_initial_s:
            raise ValueError(f"backoff_max_s must be >= backoff_initial_s, got {backoff_max_s!r}")
        if max_reconnects is not None and max_reconnects < 0:
            raise ValueError(f"max_reconnects must be >= 0 or None, got {max_reconnects!r}")
        self._requested_fps = validate_fps(fps)
        self._reported_fps: float | None = None
        self._backoff_initial_s = backoff_initial_s
        self._backoff_max_s = backoff_max_s
        self._max_reconnects = max_reconnects
        self._sleep = sleep if sleep is not None else self._closed.wait
        self._monotonic = monotonic
        self._connected = False
        self._first_frame_s: float | None = None
        self._next_index = 0

    @property
    def fps(self) -> float:
        """Requested rate, else the rate the device last reported, else `DEFAULT_LIVE_FPS`."""
        return self._requested_fps or self._reported_fps or DEFAULT_LIVE_FPS

    @property
    def frame_count(self) -> None:
        return None

    @abstractmethod
    def _connect(self) -> float | None:
        """Open the device; return the frame rate it reports (None if unknown).

        Raises:
            SourceError: the device cannot be opened (the loop will retry).
        """

    @abstractmethod
    def _read(self) -> ImageArray:
        """Return the next BGR image. Raises SourceError if no frame came (the loop will retry)."""

    @abstractmethod
    def _disconnect(self) -> None:
        """Release the device; must not raise and must be safe to call when not connected."""

    def _next_image(self) -> ImageArray:
        if not self._connected:
            reported_fps = self._connect()
            self._connected = True
            if reported_fps is not None and is_usable_fps(reported_fps):
                self._reported_fps = reported_fps
        return self._read()

    def _release(self) -> None:
        self._connected = False
        self._disconnect()

    def _frames(self) -> Generator[Frame, None, None]:
        failures = 0
        delay_s = self._backoff_initial_s
        try:
            while not self._closed.is_set():
                try:
                    image = self._next_image()
                except SourceError as exc:
                    self._release()
                    failures += 1
                    self._wait_to_reconnect(failures, delay_s, exc)
                    delay_s = min(delay_s * 2.0, self._backoff_max_s)
                    continue
                if failures:
                    logger.info("%s: delivering frames again after %d failed attempts", self.name, failures)
                    failures, delay_s = 0, self._backoff_initial_s
                now_s = self._monotonic()
                if self._first_frame_s is None:
                    self._first_frame_s = now_s
                yield Frame(self._next_index, now_s - self._first_frame_s, image)
                self._next_index += 1
        finally:
            self._release()

    def _wait_to_reconnect(self, failures: int, delay_s: float, error: SourceError) -> None:
        """Sleep before reconnect number `failures`, or raise if the reconnect budget is spent."""
        if self._max_reconnects is not None and failures > self._max_reconnects:
            raise SourceDisconnectedError(
                f"{self.name}: no frames after {self._max_reconnects} reconnect attempts ({error})"
            ) from error
        logger.warning("%s: %s; reconnecting in %.1f s (attempt %d)", self.name, error, delay_s, failures)
        self._sleep(delay_s)


class _OpenCvLiveSource(LiveSource):
    """A live source read through `cv2.VideoCapture` (network URL or local camera)."""

    def __init__(
        self,
        target: str | int,
        name: str,
        *,
        api_preference: int,
        open_params: Sequence[int],
        fps: float | None,
        backoff_initial_s: float,
        backoff_max_s: float,
        max_reconnects: int | None,
        sleep: Callable[[float], object] | None,
        monotonic: Callable[[], float],
    ) -> None:
        super().__init__(
            name,
            fps=fps,
            backoff_initial_s=backoff_initial_s,
            backoff_max_s=backoff_max_s,
            max_reconnects=max_reconnects,
            sleep=sleep,
            monotonic=monotonic,
        )
        self._target = target
        self._api_preference = api_preference
        self._open_params = list(open_params)
        self._capture: cv2.VideoCapture | None = None

    def _connect(self) -> float | None:
        try:
            capture = cv2.VideoCapture(self._target, self._api_preference, self._open_params)
        except cv2.error as exc:
            raise SourceError(f"cannot open ({type(exc).__name__})") from exc
        if not capture.isOpened():
            capture.release()
            raise SourceError("cannot open")
        self._capture = capture
        self._configure(capture)
        return capture.get(cv2.CAP_PROP_FPS)

    def _configure(self, capture: cv2.VideoCapture) -> None:
        """Hook to set device properties right after opening."""

    def _read(self) -> ImageArray:
        if self._capture is None:
            raise SourceError("not open")
        try:
            delivered, image = self._capture.read()
        except cv2.error as exc:
            raise SourceError(f"read failed ({type(exc).__name__})") from exc
        if not delivered:
            raise SourceError("stream stopped delivering frames")
        return cast(ImageArray, image)

    def _disconnect(self) -> None:
        capture, self._capture = self._capture, None
        if capture is not None:
            capture.release()


class StreamSource(_OpenCvLiveSource):
    """A network stream (RTSP, HTTP MJPEG, ...) or any other URL OpenCV can open.

    `name` is the URL without user name and password. Open and read time out after 10 s each.
    Every pixel of the stream is decoded, so give the camera's sub-stream when it has one (a
    different URL, e.g. `.../Streaming/Channels/102` on Hikvision, `subtype=1` on Dahua): a
    640x360 sub-stream costs a fraction of decoding 1080p and shrinking it for the detector.
    See `LiveSource` for the arguments and the reconnect policy.
    """

    def __init__(
        self,
        url: str,
        *,
        fps: float | None = None,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 30.0,
        max_reconnects: int | None = None,
        sleep: Callable[[float], object] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(
            url,
            redact_url(url),
            api_preference=cv2.CAP_ANY,
            open_params=(
                cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
                STREAM_OPEN_TIMEOUT_MS,
                cv2.CAP_PROP_READ_TIMEOUT_MSEC,
                STREAM_READ_TIMEOUT_MS,
            ),
            fps=fps,
            backoff_initial_s=backoff_initial_s,
            backoff_max_s=backoff_max_s,
            max_reconnects=max_reconnects,
            sleep=sleep,
            monotonic=monotonic,
        )


class UsbCameraSource(_OpenCvLiveSource):
    """A local V4L2 camera by index (`0`) or device path (`/dev/video0`).

    Args:
        device: camera index or device path.
        width: requested frame width in pixels (the driver may pick the nearest mode).
        height: requested frame height in pixels.
        fps: requested frame rate, also reported as `fps`.

    The remaining arguments and the reconnect policy are those of `LiveSource`.
    """

    def __init__(
        self,
        device: int | str,
        *,
        width: int | None = None,
        height: int | None = None,
        fps: float | None = None,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 30.0,
        max_reconnects: int | None = None,
        sleep: Callable[[float], object] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        for argument, value in (("width", width), ("height", height)):
            if value is not None and value <= 0:
                raise ValueError(f"{argument} must be a positive number of pixels, got {value!r}")
        super().__init__(
            device,
            f"usb:{device}" if isinstance(device, int) else device,
            api_preference=cv2.CAP_ANY,
            open_params=(),
            fps=fps,
            backoff_initial_s=backoff_initial_s,
            backoff_max_s=backoff_max_s,
            max_reconnects=max_reconnects,
            sleep=sleep,
            monotonic=monotonic,
        )
        self._settings = tuple(
            (prop, float(value))
            for prop, value in (
                (cv2.CAP_PROP_FRAME_WIDTH, width),
                (cv2.CAP_PROP_FRAME_HEIGHT, height),
                (cv2.CAP_PROP_FPS, fps),
            )
            if value is not None
        )

    def _configure(self, capture: cv2.VideoCapture) -> None:
        for prop, value in self._settings:
            if not capture.set(prop, value):
                logger.warning("%s: camera refused property %d = %g", self.name, prop, value)
