"""Raspberry Pi camera via picamera2 (libcamera); the only module that imports picamera2.

picamera2 is imported lazily, in the constructor, so the package works without the `pi` extra.
By default frames come from the main stream of a video configuration in format "RGB888", which
libcamera stores as B, G, R bytes per pixel: OpenCV's BGR order, so no channel swap is needed.
That order has been reported to flip between kernel/libcamera releases, so `channel_order="rgb"`
swaps the channels for a camera stack that delivers R, G, B.

Fewer pixels: with `lores_size` the ISP scales a second, small "lores" stream (e.g. the detector's
input size, see `edge.sources.sizing.lores_size_for`) and frames come from it, so the Pi never
copies, converts or resizes a full-size frame. picamera2 still needs the main stream (`size`,
which also steers the sensor mode and so the field of view); it is configured as YUV420 to keep
its buffers small and is never read. On Pi 4 and earlier (VC4 ISP) picamera2 only accepts a YUV
lores stream no larger than main: frames arrive as I420 planes (H * 3 / 2 rows of `stride`
bytes, padding kept) and are converted to BGR here, padding cropped. On a Pi 5 (PiSP, reported
by the `Picamera2.platform` class attribute) lores is "RGB888" and read like main. Calibrations
are in normalised coordinates, so they hold for either stream as long as its aspect ratio matches
main's. The I420 conversion uses OpenCV's BT.601 coefficients; picamera2 encodes lores in BT.601
(Smpte170m) when main is smaller than 1280x720 and in Rec709 otherwise, a slight shift of
saturated colours that does not matter to a person detector.

On a real Pi three things go wrong, and each is handled here:
- No camera (ribbon loose, camera disabled): `Picamera2()` raises IndexError, so the constructor
  asks `Picamera2.global_camera_info()` first and raises a `SourceError` that says what to check.
- A camera unplugged while running makes captures block for ever: every capture waits at most
  `capture_timeout_s` (`capture_array("main", wait=seconds)` raises TimeoutError, picamera2 >= 0.3.17);
  the timed-out job is cancelled (`cancel_all_and_flush()`, else closing would queue behind it).
- Any failing capture is treated like a dropped stream (see `edge.sources.live.LiveSource`): the
  camera is closed and re-created with backoff.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, Literal, cast

import cv2
import numpy as np

from edge.errors import SourceError
from edge.sources.live import LiveSource

if TYPE_CHECKING:
    from collections.abc import Callable

    from edge.records import ImageArray

__all__ = ["ChannelOrder", "PicameraSource", "attached_cameras", "i420_to_bgr"]

logger = logging.getLogger(__name__)

ChannelOrder = Literal["bgr", "rgb"]
"""Byte order of the camera's "RGB888" pixels: "bgr" (libcamera's documented order) or "rgb"."""

LORES_STREAM = "lores"
MAIN_STREAM = "main"
# Relative aspect-ratio difference of lores and main accepted without a warning (even rounding).
ASPECT_TOLERANCE = 0.02

# Frame rate of picamera2's video configuration when no FrameRate control is given
# (FrameDurationLimits 33333 us).
PICAMERA_DEFAULT_FPS = 30.0
# Seconds a capture may wait for a frame before the camera counts as stalled; several frame
# periods even at 1 fps, well below the service watchdog (WatchdogSec=30 in the systemd unit).
DEFAULT_CAPTURE_TIMEOUT_S = 5.0


class PicameraSource(LiveSource):
    """Frames from a Raspberry Pi camera module.

    Args:
        size: (width, height) of the main stream in pixels; both even.
        lores_size: (width, height) of the frames, taken from the ISP's "lores" stream; both even
            and no larger than `size`. None (default) delivers the main stream itself.
        fps: frame rate requested through the FrameRate control; None keeps the camera default.
        camera_num: index of the camera in `Picamera2.global_camera_info()`.
        channel_order: "bgr" keeps the bytes as they come (libcamera's RGB888 is B, G, R);
            "rgb" swaps them, for a camera stack that delivers R, G, B. Not used for a YUV420
            lores stream, whose conversion has only one channel order.
        capture_timeout_s: longest wait for one frame; then the camera is closed and reopened.

    The remaining arguments and the reconnect policy are those of `LiveSource`.

    Raises:
        SourceError: picamera2 is not installed, or no camera (or not camera `camera_num`) is attached.
        ValueError: `size`, `lores_size`, `fps`, `camera_num`, `channel_order` or
            `capture_timeout_s` is invalid.
    """

    def __init__(
        self,
        *,
        size: tuple[int, int] = (1280, 720),
        lores_size: tuple[int, int] | None = None,
        fps: float | None = None,
        camera_num: int = 0,
        channel_order: ChannelOrder = "bgr",
        capture_timeout_s: float = DEFAULT_CAPTURE_TIMEOUT_S,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 30.0,
        max_reconnects: int | None = None,
        sleep: Callable[[float], object] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        _check_sizes(size, lores_size)
        if camera_num < 0:
            raise ValueError(f"camera_num must be >= 0, got {camera_num!r}")
        if channel_order not in ("bgr", "rgb"):
            raise ValueError(f'channel_order must be "bgr" or "rgb", got {channel_order!r}')
        if not capture_timeout_s > 0:
            raise ValueError(f"capture_timeout_s must be positive, got {capture_timeout_s!r}")
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
        self._swap_channels = channel_order == "rgb"
        self._capture_timeout_s = float(capture_timeout_s)
        self._size = (int(size[0]), int(size[1]))
        self._configuration = _video_configuration(self._camera_class, self._size, lores_size, fps)
        self._stream = MAIN_STREAM if lores_size is None else LORES_STREAM
        self._yuv_size: tuple[int, int] | None = None  # (width, height) of a YUV420 stream read
        self._camera: Any = None

    @property
    def fps(self) -> float:
        return self._requested_fps or PICAMERA_DEFAULT_FPS

    def _connect(self) -> float | None:
        try:
            self._camera = self._camera_class(self._camera_num)
            config = self._camera.create_video_configuration(**self._configuration)
            self._camera.configure(config)
            stream = self._camera.camera_configuration()[self._stream]
            self._camera.start()
        except Exception as exc:  # libcamera reports every failure as a bare RuntimeError or worse
            self._disconnect()
            raise SourceError(f"cannot start camera ({type(exc).__name__}: {exc})") from exc
        width, height = stream["size"]  # libcamera may have adjusted what was asked for
        self._yuv_size = (int(width), int(height)) if stream["format"] == "YUV420" else None
        logger.debug("%s: reading the %s stream, %s", self.name, self._stream, stream)
        return None

    def _read(self) -> ImageArray:
        try:
            image = self._camera.capture_array(self._stream, wait=self._capture_timeout_s)
        except TimeoutError as exc:
            raise SourceError(
                f"no frame within {self._capture_timeout_s:g} s (camera unplugged or stalled)"
            ) from exc
        except Exception as exc:  # see _connect
            raise SourceError(f"capture failed ({type(exc).__name__}: {exc})") from exc
        if self._yuv_size is not None:
            return i420_to_bgr(image, self._yuv_size)
        if (
            not isinstance(image, np.ndarray)
            or image.dtype != np.uint8
            or image.ndim != 3
            or image.shape[2] != 3
        ):
            raise SourceError(
                f"camera returned {getattr(image, 'shape', type(image))}, not an H x W x 3 uint8 image"
            )
        if self._swap_channels:
            return np.ascontiguousarray(image[:, :, ::-1])
        return image

    def _disconnect(self) -> None:
        camera, self._camera = self._camera, None
        if camera is None:
            return
        try:
            # A capture that timed out is still queued; cancel it so stopping does not wait behind it.
            camera.cancel_all_and_flush()
        except Exception:  # a camera that just failed may fail here too; closing is still attempted
            logger.warning("%s: cancelling pending captures failed", self.name, exc_info=True)
        try:
            camera.close()  # stops a started camera first
        except Exception:  # a camera that just failed may fail to close too; a new one is made anyway
            logger.warning("%s: closing the camera failed", self.name, exc_info=True)


def i420_to_bgr(planes: ImageArray, size: tuple[int, int]) -> ImageArray:
    """A BGR image from picamera2's YUV420 array: (height * 3 // 2, stride) uint8, padding kept.

    Args:
        planes: Y rows, then U and V (each half width and half height, two rows per array row).
        size: (width, height) of the stream; columns beyond `width` are stride padding.

    Raises:
        SourceError: `planes` does not have the shape of a YUV420 image of `size`.
    """
    width, height = size
    if (
        not isinstance(planes, np.ndarray)
        or planes.dtype != np.uint8
        or planes.ndim != 2
        or planes.shape[0] != height * 3 // 2
        or planes.shape[1] < width
        or planes.shape[1] % 2
    ):
        raise SourceError(
            f"camera returned {getattr(planes, 'shape', type(planes))}, not YUV420 planes of {width}x{height}"
        )
    bgr = cast("ImageArray", cv2.cvtColor(planes, cv2.COLOR_YUV2BGR_I420))
    if bgr.shape[1] != width:  # the stride was padded: drop the padding columns
        return np.ascontiguousarray(bgr[:, :width])
    return bgr


def attached_cameras() -> tuple[str, ...]:
    """Sensor models of the cameras libcamera sees, in camera-number order (e.g. `("imx708",)`).

    Opens no camera, so it works while the service is using one.

    Raises:
        SourceError: picamera2 is not installed, or libcamera cannot list the cameras.
    """
    return tuple(str(info.get("Model", "unknown")) for info in _list_cameras(_import_picamera2()))


def _import_picamera2() -> Any:
    """Return the `Picamera2` class, imported on first use."""
    try:
        from picamera2 import Picamera2  # noqa: PLC0415 (lazy: optional dependency, Pi only)
    except ImportError as exc:
        if exc.name != "picamera2":
            raise SourceError(f"picamera2 cannot be imported ({exc})") from exc
        raise SourceError(
            "picamera2 is not installed; install the 'pi' extra (on Raspberry Pi OS the venv also "
            "needs --system-site-packages for libcamera)"
        ) from exc
    except ValueError as exc:  # an extension built for numpy 1.x (apt's simplejpeg) under numpy 2.x
        raise SourceError(
            f"picamera2 cannot be imported ({exc}); install simplejpeg into the venv "
            "(systemd/install.sh does)"
        ) from exc
    return Picamera2


def _check_sizes(size: tuple[int, int], lores_size: tuple[int, int] | None) -> None:
    if len(size) != 2 or any(side <= 0 or side % 2 for side in size):
        raise ValueError(f"size must be (width, height) with positive even sides, got {size!r}")
    if lores_size is None:
        return
    if len(lores_size) != 2 or any(side <= 0 or side % 2 for side in lores_size):
        raise ValueError(f"lores_size must be (width, height) with positive even sides, got {lores_size!r}")
    if lores_size[0] > size[0] or lores_size[1] > size[1]:
        raise ValueError(f"lores_size {lores_size!r} must not exceed the main stream size {size!r}")
    # Both streams are scaled from the same sensor crop: another aspect ratio stretches the picture.
    if abs(lores_size[0] * size[1] / (lores_size[1] * size[0]) - 1.0) > ASPECT_TOLERANCE:
        logger.warning(
            "lores_size %dx%d has another aspect ratio than the main stream %dx%d: people look stretched",
            *lores_size,
            *size,
        )


def _video_configuration(
    camera_class: Any, size: tuple[int, int], lores_size: tuple[int, int] | None, fps: float | None
) -> dict[str, Any]:
    """Keyword arguments of `create_video_configuration` for main-only or main + lores."""
    configuration: dict[str, Any]
    if lores_size is None:
        configuration = {"main": {"size": size, "format": "RGB888"}}
    else:
        lores_format = "RGB888" if _is_pisp(camera_class) else "YUV420"
        configuration = {
            "main": {"size": size, "format": "YUV420"},  # never read: the smallest buffers
            "lores": {"size": (int(lores_size[0]), int(lores_size[1])), "format": lores_format},
        }
    if fps is not None:
        configuration["controls"] = {"FrameRate": float(fps)}
    return configuration


def _is_pisp(camera_class: Any) -> bool:
    """The camera hangs off a Pi 5 ISP, whose lores stream may be RGB; a picamera2 too old to say is VC4."""
    platform = getattr(camera_class, "platform", None)  # a picamera2.platform.Platform member
    return getattr(platform, "name", None) == "PISP"


def _list_cameras(camera_class: Any) -> list[dict[str, Any]]:
    try:
        return list(camera_class.global_camera_info())
    except Exception as exc:  # libcamera missing or broken: no camera we could open
        raise SourceError(f"cannot list cameras ({type(exc).__name__}: {exc})") from exc


def _check_camera_attached(camera_class: Any, camera_num: int) -> None:
    cameras = _list_cameras(camera_class)
    if not cameras:
        raise SourceError(
            "no camera found: check the ribbon cable and that the camera is enabled "
            "(`rpicam-hello --list-cameras` should list it)"
        )
    if camera_num >= len(cameras):
        raise SourceError(f"camera {camera_num} not found: {len(cameras)} camera(s) attached")
