"""A fake `picamera2` module for machines without a Raspberry Pi camera.

Mirrors the part of the real API (raspberrypi/picamera2 `picamera2/picamera2.py`, 0.3.17 and
later) that `edge.sources.picamera` uses, with the same names, parameter names and configuration
dict shape: `Picamera2(camera_num=0, verbose_console=None, tuning=None, allocator=None)`,
`Picamera2.global_camera_info()`, `Picamera2.platform`, `create_video_configuration(main=...,
lores=..., controls=..., ...)`, `configure(camera_config)`, `camera_configuration()`,
`stream_configuration(name="main")`, `start(config=None, show_preview=False)`,
`capture_array(name="main", wait=None, signal_function=None)`, `cancel_all_and_flush()`,
`stop()`, `close()`. Mutable defaults of the real signatures are written as None here.

Behaviour copied from the real class:
- `Picamera2(n)` looks camera n up in `global_camera_info()` first: IndexError when it is absent.
- `Picamera2.platform` is a class attribute, `Platform.VC4` (Pi 4 and earlier) or `Platform.PISP`
  (Pi 5), decided once when picamera2 is imported (`picamera2/platform.py`).
- `create_video_configuration` fills the defaults of `Picamera2.create_video_configuration`: main
  `{"format": "XBGR8888", "size": (1280, 720), "preserve_ar": True}`, lores (only when asked for)
  `{"format": "YUV420", "size": <main size>, "preserve_ar": False}`, and rounds each size down to
  even numbers (`align_stream(..., optimal=False)`).
- `configure` validates like `check_camera_config` / `check_stream_config` (known keys, size a
  tuple of even numbers, a YUV or RGB format; "lores stream dimensions may not exceed main
  stream"; on VC4 "lores stream must be YUV"), refuses a started camera, and then writes the
  `stride` and `framesize` libcamera chose into each stream dict (`_update_stream_config`).
- `capture_array` shapes as `Helpers.make_array` (`picamera2/request.py`): H x W x 3 for
  RGB888/BGR888 (H x W x 4 for the 32-bit formats), stride padding already removed; for
  YUV420 the I420 planes as one (H * 3 // 2, stride) uint8 array with the padding left in
  ("We leave any packing in there").
- `capture_array(wait=...)`: `wait` None or True waits for ever, a number of seconds raises
  TimeoutError when no frame comes, False returns a job (not supported by the fake). A capture
  that timed out stays queued until `cancel_all_and_flush()`.
- `start()` runs an event loop (the NULL preview); `stop()` then asks that loop to stop the camera
  and waits behind queued jobs, so after a timed-out capture it blocks for ever unless the jobs
  were cancelled. `close()` stops the event loop first and stops the camera itself.

Stride is set by the kernel driver on a real Pi; the fake pads each plane to the hardware
alignment that `Picamera2.align_stream` describes ("all planes are a multiple of 32/64 bytes
wide": 32 bytes on VC4, 64 on PiSP), so a YUV420 width of 100 has a stride of 128 on VC4.

Where the real camera would block for ever, the fake raises `WouldBlockForever` (a BaseException,
so a caller's `except Exception` cannot hide the bug).

What the camera sees: `rig.scene`, a BGR image resized to each stream's size (the ISP's job), or
by default a flat colour whose bytes in RGB888 are B, G, R as in libcamera: channel 0 is 255
(blue), channel 1 the capture counter modulo 256, channel 2 is 0, so a consumer that swaps
channels is caught. YUV420 streams carry the same picture as BT.601 limited-range I420 (what
OpenCV's `COLOR_BGR2YUV_I420` produces); stride padding bytes are 0.

Install it with `monkeypatch.setitem(sys.modules, "picamera2", fake_module)` after `reset()`;
steer it through `rig` (`cameras`, `scene`, `fail_opens`, `fail_captures`, `stall_captures`) and
`reset(platform=...)`, and inspect `rig.instances`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from types import TracebackType
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

__all__ = ["Picamera2", "Platform", "Rig", "WouldBlockForever", "reset", "rig"]

_CHANNELS = {"RGB888": 3, "BGR888": 3, "XBGR8888": 4, "XRGB8888": 4}
# picamera2.formats.is_YUV: the formats the real check accepts besides the RGB ones.
_YUV_FORMATS = ("NV21", "NV12", "YUV420", "YVU420", "YVYU", "YUYV", "UYVY", "VYUY")
_VALID_STREAM_KEYS = ("format", "size", "stride", "preserve_ar")


class Platform(Enum):
    """`picamera2.platform.Platform`: the ISP generation."""

    VC4 = 0
    PISP = 1


class WouldBlockForever(BaseException):
    """The real picamera2 would block the calling thread for ever here."""


@dataclass
class Rig:
    """What the fake camera system looks like and how it misbehaves.

    Attributes:
        cameras: what `global_camera_info()` returns (empty: no camera attached).
        scene: BGR image every stream shows (resized to the stream size); None: a flat test colour.
        fail_opens: number of upcoming `Picamera2(...)` constructions that fail.
        fail_captures: number of upcoming `capture_array` calls that raise at once.
        stall_captures: number of upcoming `capture_array` calls that get no frame (camera
            unplugged): TimeoutError after `wait` seconds, or blocking for ever without `wait`.
        instances: every `Picamera2` constructed successfully, in order.
    """

    cameras: list[dict[str, Any]] = field(default_factory=list)
    scene: npt.NDArray[np.uint8] | None = None
    fail_opens: int = 0
    fail_captures: int = 0
    stall_captures: int = 0
    instances: list[Picamera2] = field(default_factory=list)


def _camera_info(number: int) -> dict[str, Any]:
    return {
        "Model": "imx708",
        "Location": 2,
        "Rotation": 180,
        "Id": f"/base/axi/pcie@120000/rp1/i2c@{number}/imx708@1a",
        "Num": number,
    }


rig = Rig(cameras=[_camera_info(0)])


def reset(*, cameras: int = 1, platform: Platform = Platform.VC4) -> Rig:
    """Start a fresh camera system with `cameras` cameras on `platform`; return its rig."""
    Picamera2.platform = platform
    rig.cameras = [_camera_info(number) for number in range(cameras)]
    rig.scene = None
    rig.fail_opens = 0
    rig.fail_captures = 0
    rig.stall_captures = 0
    rig.instances = []
    return rig


class Picamera2:
    """Fake of `picamera2.Picamera2`; records every call in `calls`."""

    platform = Platform.VC4

    @staticmethod
    def global_camera_info() -> list[dict[str, Any]]:
        return [dict(info) for info in rig.cameras]

    def __init__(
        self,
        camera_num: int = 0,
        verbose_console: int | None = None,
        tuning: Any = None,
        allocator: Any = None,
    ) -> None:
        camera_num = self.global_camera_info()[camera_num]["Num"]  # IndexError, as in the real one
        if rig.fail_opens > 0:
            rig.fail_opens -= 1
            raise RuntimeError("Camera __init__ sequence did not complete.")
        self.camera_idx = camera_num
        self.is_open = True
        self.started = False
        self.camera_config: dict[str, Any] | None = None
        self.calls: list[str] = ["__init__"]
        self.waits: list[float | bool | None] = []
        self._event_loop_running = False
        self._queued_jobs = 0
        self._captures = 0
        rig.instances.append(self)

    def create_video_configuration(
        self,
        main: dict[str, Any] | None = None,
        lores: dict[str, Any] | None = None,
        raw: dict[str, Any] | None = None,
        transform: Any = None,
        colour_space: Any = None,
        buffer_count: int = 6,
        controls: dict[str, Any] | None = None,
        display: str | None = "main",
        encode: str | None = "main",
        queue: bool = True,
        sensor: dict[str, Any] | None = None,
        use_case: str = "video",
    ) -> dict[str, Any]:
        self.calls.append("create_video_configuration")
        if not self.is_open:
            raise RuntimeError("Camera not opened")
        main_stream = _stream_config({"format": "XBGR8888", "size": (1280, 720), "preserve_ar": True}, main)
        _align_to_even(main_stream)
        lores_stream = None
        if lores is not None:
            lores_stream = _stream_config(
                {"format": "YUV420", "size": main_stream["size"], "preserve_ar": False}, lores
            )
            _align_to_even(lores_stream)
        return {
            "use_case": use_case,
            "transform": transform,
            "colour_space": colour_space,
            "buffer_count": buffer_count,
            "queue": queue,
            "main": main_stream,
            "lores": lores_stream,
            "raw": None,
            "controls": {"NoiseReductionMode": 1, "FrameDurationLimits": (33333, 33333)} | (controls or {}),
            "sensor": sensor or {},
            "display": display,
            "encode": encode,
        }

    def configure(self, camera_config: dict[str, Any] | str | None = None) -> None:
        self.calls.append("configure")
        if self.started:
            raise RuntimeError("Camera must be stopped before configuring")
        if not isinstance(camera_config, dict):
            raise NotImplementedError("the fake only accepts configuration dicts")
        camera_config = camera_config.copy()  # shallow, as in the real configure_()
        self.camera_config = None
        _check_camera_config(camera_config)
        for name in ("main", "lores"):
            if camera_config[name] is not None:
                _update_stream_config(camera_config[name])
        self.camera_config = camera_config

    def camera_configuration(self) -> dict[str, Any] | None:
        return self.camera_config

    def stream_configuration(self, name: str = "main") -> dict[str, Any]:
        if self.camera_config is None:
            raise TypeError("'NoneType' object is not subscriptable")
        stream: dict[str, Any] = self.camera_config[name]
        return stream

    def start(self, config: dict[str, Any] | None = None, show_preview: bool | None = False) -> None:
        self.calls.append("start")
        if config is not None:
            self.configure(config)
        if self.camera_config is None:
            raise RuntimeError("Camera has not been configured")
        if show_preview is not None:
            self._event_loop_running = True  # the NULL preview's thread
        self.started = True

    def capture_array(
        self, name: str = "main", wait: float | bool | None = None, signal_function: Any = None
    ) -> npt.NDArray[np.uint8]:
        self.calls.append("capture_array")
        self.waits.append(wait)
        if wait is False or signal_function is not None:
            raise NotImplementedError("the fake does not hand out jobs")
        if not self.started or self.camera_config is None:
            raise WouldBlockForever("capture_array on a camera that is not started waits for ever")
        if rig.fail_captures > 0:
            rig.fail_captures -= 1
            raise RuntimeError("Camera frontend has timed out!")
        if rig.stall_captures > 0:
            rig.stall_captures -= 1
            self._queued_jobs += 1
            if wait is None or wait is True:
                raise WouldBlockForever("no frame comes and capture_array was called without a timeout")
            raise TimeoutError  # concurrent.futures.Future.result(timeout=wait)
        stream = self.camera_config[name]
        if stream is None:  # the real stream_map has no such stream
            raise RuntimeError(f"Stream {name!r} is not defined")
        picture = self._picture(stream["size"])
        self._captures += 1
        if stream["format"] == "YUV420":
            return _i420_with_stride(picture, stream["stride"])
        if stream["format"] not in _CHANNELS:
            raise NotImplementedError(f"the fake does not make {stream['format']} arrays")
        image = np.zeros((*picture.shape[:2], _CHANNELS[stream["format"]]), dtype=np.uint8)
        image[..., :3] = picture  # B, G, R bytes (RGB888's order in libcamera)
        return image

    def cancel_all_and_flush(self) -> None:
        self.calls.append("cancel_all_and_flush")
        self._queued_jobs = 0

    def stop(self) -> None:
        self.calls.append("stop")
        if not self.started:
            return
        if self._event_loop_running and self._queued_jobs:
            raise WouldBlockForever("stop() waits behind a timed-out capture: cancel_all_and_flush() first")
        self.started = False

    def close(self) -> None:
        self.calls.append("close")
        self._event_loop_running = False  # close() stops the preview (event loop) first
        if self.is_open:
            self.stop()
            self.is_open = False

    def __enter__(self) -> Picamera2:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _picture(self, size: tuple[int, int]) -> npt.NDArray[np.uint8]:
        """The BGR picture the ISP would deliver at `size` for this capture."""
        width, height = size
        if rig.scene is not None:
            return np.asarray(cv2.resize(rig.scene, (width, height), interpolation=cv2.INTER_AREA))
        picture = np.zeros((height, width, 3), dtype=np.uint8)
        picture[..., 0] = 255
        picture[..., 1] = self._captures % 256
        return picture


def _stream_config(defaults: dict[str, Any], updates: dict[str, Any] | None) -> dict[str, Any]:
    """Like `Picamera2._make_initial_stream_config`: only the known stream keys may be given."""
    stream = dict(defaults)
    for key, value in (updates or {}).items():
        if key not in _VALID_STREAM_KEYS:
            raise ValueError(f"Bad key {key!r}: valid stream configuration keys are {_VALID_STREAM_KEYS}")
        stream[key] = value
    return stream


def _align_to_even(stream: dict[str, Any]) -> None:
    """`Picamera2.align_stream(stream, optimal=False)`: both sides rounded down to even."""
    width, height = stream["size"]
    stream["size"] = (width - width % 2, height - height % 2)


def _check_stream(stream: Any, name: str) -> None:
    """Like `Picamera2.check_stream_config` for an image (non-raw) stream."""
    if type(stream) is not dict:
        raise RuntimeError(name + " stream should be a dictionary")
    if stream["format"] not in _CHANNELS and stream["format"] not in _YUV_FORMATS:
        raise RuntimeError(f"Bad format {stream['format']} in stream {name}")
    size = stream["size"]
    if type(size) is not tuple or len(size) != 2:
        raise RuntimeError(f"size in {name} stream should be (width, height)")
    if size[0] % 2 or size[1] % 2:
        raise RuntimeError("width and height should be even")


def _check_camera_config(camera_config: dict[str, Any]) -> None:
    """Like `Picamera2.check_camera_config` for the main and lores streams."""
    for name in ("main", "lores", "raw"):
        if name not in camera_config:
            raise RuntimeError(f"{name!r} key expected in camera configuration")
    _check_stream(camera_config["main"], "main")
    lores = camera_config["lores"]
    if lores is None:
        return
    _check_stream(lores, "lores")
    main_w, main_h = camera_config["main"]["size"]
    lores_w, lores_h = lores["size"]
    if lores_w > main_w or lores_h > main_h:
        raise RuntimeError("lores stream dimensions may not exceed main stream")
    if Picamera2.platform == Platform.VC4 and lores["format"] not in _YUV_FORMATS:
        raise RuntimeError("lores stream must be YUV")


def _update_stream_config(stream: dict[str, Any]) -> None:
    """What `configure` copies back from libcamera: the stride and frame size it chose."""
    plane_align = 32 if Picamera2.platform == Platform.VC4 else 64
    width, height = stream["size"]
    if stream["format"] in ("YUV420", "YVU420"):
        stride = _round_up(width, 2 * plane_align)  # chroma planes are half as wide, each aligned
        stream["stride"], stream["framesize"] = stride, stride * height * 3 // 2
    else:
        stride = _round_up(width * _CHANNELS.get(stream["format"], 2), plane_align)
        stream["stride"], stream["framesize"] = stride, stride * height


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def _i420_with_stride(picture: npt.NDArray[np.uint8], stride: int) -> npt.NDArray[np.uint8]:
    """`picture` (BGR) as a YUV420 buffer: Y, U, V planes, rows padded to `stride` (chroma: half)."""
    height, width = picture.shape[:2]
    i420 = np.asarray(cv2.cvtColor(picture, cv2.COLOR_BGR2YUV_I420)).reshape(-1)
    luma = i420[: width * height].reshape(height, width)
    chroma_size = (width // 2) * (height // 2)
    u_plane = i420[width * height : width * height + chroma_size].reshape(height // 2, width // 2)
    v_plane = i420[width * height + chroma_size :].reshape(height // 2, width // 2)
    padded = [
        np.pad(plane, ((0, 0), (0, plane_stride - plane.shape[1])))
        for plane, plane_stride in ((luma, stride), (u_plane, stride // 2), (v_plane, stride // 2))
    ]
    return np.concatenate([plane.reshape(-1) for plane in padded]).reshape(height * 3 // 2, stride)
