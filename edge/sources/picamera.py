"""Raspberry Pi camera via picamera2 (libcamera); the only module that imports picamera2.

picamera2 is imported lazily, in the constructor, so the package works without the `pi` extra.
Frames come from the main stream of a video configuration in format "RGB888", which libcamera
stores as B, G, R bytes per pixel: exactly OpenCV's BGR order, so no channel swap is needed.
A failing capture is treated like a dropped stream (see `edge.sources.live.LiveSource`): the
camera is stopped, closed and re-created with backoff.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from edge.errors import SourceError
from edge.sources.live import LiveSource

if TYPE_CHECKING:
    from collections.abc import Callable

    from edge.records import ImageArray

__all__ = ["PicameraSource"]

logger = logging.getLogger(__name__)

# Frame rate of picamera2's video configuration when no FrameRate control is given
# (FrameDurationLimits 33333 us).
PICAMERA_DEFAULT_FPS = 30.0


class PicameraSource(LiveSource):
    """Frames from a Raspberry Pi camera module.

    Args:
        size: (width, height) of the main stream in pixels; both even.
        fps: frame rate requested through the FrameRate control; None keeps the camera default.
        camera_num: index of the camera in `Picamera2.global_camera_info()`.

    The remaining arguments and the reconnect policy are those of `LiveSource`.

    Raises:
        SourceError: picamera2 is not installed, or no camera (or not camera `camera_num`) is attached.
        ValueError: `size`, `fps` or `camera_num` is invalid.
    """

    def __init__(
        self,
        *,
        size: tuple[int, int] = (1280, 720),
        fps: float | None = None,
        camera_num: int = 0,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 30.0,
        max_reconnects: int | None = None,
        sleep: Callable[[float], object] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if len(size) != 2 or any(side <= 0 or side % 2 for side in size):
            raise ValueError(f"size must be (width, height) with positive even sides, got {size!r}")
        if camera_num < 0:
            raise ValueError(f"camera_num must be >= 0, got {camera_num!r}")
        super().__init__(
            f"picamera:{camera_num}",
            fps=fps,
            backoff_initial_s=backoff_initial_s,
            backoff_max_s=backoff_max_s,
            max_reconnects=max_reconnects,
            sleep=sleep,
            monotonic=monotonic,
        )
        self._camera_class = _import_picamera2()
        _check_camera_attached(self._camera_class, camera_num)
        self._camera_num = camera_num
        self._size = (int(size[0]), int(size[1]))
        self._configuration: dict[str, Any] = {"main": {"size": self._size, "format": "RGB888"}}
        if fps is not None:
            self._configuration["controls"] = {"FrameRate": float(fps)}
        self._camera: Any = None

    @property
    def fps(self) -> float:
        return self._requested_fps or PICAMERA_DEFAULT_FPS

    def _connect(self) -> float | None:
        try:
            self._camera = self._camera_class(self._camera_num)
            config = self._camera.create_video_configuration(**self._configuration)
            self._camera.configure(config)
            self._camera.start()
        except Exception as exc:  # libcamera reports every failure as a bare RuntimeError or worse
            self._disconnect()
            raise SourceError(f"cannot start camera ({type(exc).__name__}: {exc})") from exc
        return None

    def _read(self) -> ImageArray:
        try:
            image = self._camera.capture_array()
        except Exception as exc:  # see _connect
            raise SourceError(f"capture failed ({type(exc).__name__}: {exc})") from exc
        if (
            not isinstance(image, np.ndarray)
            or image.dtype != np.uint8
            or image.ndim != 3
            or image.shape[2] != 3
        ):
            raise SourceError(
                f"camera returned {getattr(image, 'shape', type(image))}, not an H x W x 3 uint8 image"
            )
        return image

    def _disconnect(self) -> None:
        camera, self._camera = self._camera, None
        if camera is None:
            return
        try:
            camera.stop()
            camera.close()
        except Exception:  # a camera that just failed may fail to close too; a new one is made anyway
            logger.warning("%s: closing the camera failed", self.name, exc_info=True)


def _import_picamera2() -> Any:
    """Return the `Picamera2` class, imported on first use."""
    try:
        from picamera2 import Picamera2  # noqa: PLC0415 (lazy: optional dependency, Pi only)
    except ImportError as exc:
        raise SourceError(
            "picamera2 is not installed; install the 'pi' extra (on Raspberry Pi OS the venv also "
            "needs --system-site-packages for libcamera)"
        ) from exc
    return Picamera2


def _check_camera_attached(camera_class: Any, camera_num: int) -> None:
    try:
        cameras = camera_class.global_camera_info()
    except Exception as exc:  # libcamera missing or broken: no camera we could open
        raise SourceError(f"cannot list cameras ({type(exc).__name__}: {exc})") from exc
    if not cameras:
        raise SourceError("no camera found: check the ribbon cable and that the camera is enabled")
    if camera_num >= len(cameras):
        raise SourceError(f"camera {camera_num} not found: {len(cameras)} camera(s) attached")
