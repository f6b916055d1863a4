"""A fake `picamera2` module for machines without a Raspberry Pi camera.

Mirrors the part of the real API (raspberrypi/picamera2 `picamera2/picamera2.py`, 0.3.17 and
later) that `edge.sources.picamera` uses, with the same names, parameter names and configuration
dict shape: `Picamera2(camera_num=0, verbose_console=None, tuning=None, allocator=None)`,
`Picamera2.global_camera_info()`, `create_video_configuration(main=..., controls=..., ...)`,
`configure(camera_config)`, `start(config=None, show_preview=False)`,
`capture_array(name="main", wait=None, signal_function=None)`, `cancel_all_and_flush()`,
`stop()`, `close()`. Mutable defaults of the real signatures are written as None here.

Behaviour copied from the real class:
- `Picamera2(n)` looks camera n up in `global_camera_info()` first: IndexError when it is absent.
- Stream configurations are validated (known keys, size a tuple of even numbers, known format);
  a started camera refuses to be configured.
- `capture_array(wait=...)`: `wait` None or True waits for ever, a number of seconds raises
  TimeoutError when no frame comes, False returns a job (not supported by the fake). A capture
  that timed out stays queued until `cancel_all_and_flush()`.
- `start()` runs an event loop (the NULL preview); `stop()` then asks that loop to stop the camera
  and waits behind queued jobs, so after a timed-out capture it blocks for ever unless the jobs
  were cancelled. `close()` stops the event loop first and stops the camera itself.

Where the real camera would block for ever, the fake raises `WouldBlockForever` (a BaseException,
so a caller's `except Exception` cannot hide the bug).

Images are H x W x 3 uint8 for "RGB888"/"BGR888" (H x W x 4 for the 32-bit formats). Pixel bytes
of RGB888 are B, G, R as in libcamera: channel 0 is 255 (blue), channel 1 the capture counter
modulo 256, channel 2 is 0, so a consumer that swaps channels is caught.

Install it with `monkeypatch.setitem(sys.modules, "picamera2", fake_module)` after `reset()`;
steer it through `rig` (`cameras`, `fail_opens`, `fail_captures`, `stall_captures`) and inspect
`rig.instances`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["Picamera2", "Rig", "WouldBlockForever", "reset", "rig"]

_CHANNELS = {"RGB888": 3, "BGR888": 3, "XBGR8888": 4, "XRGB8888": 4}
_VALID_STREAM_KEYS = ("format", "size", "stride", "preserve_ar")


class WouldBlockForever(BaseException):
    """The real picamera2 would block the calling thread for ever here."""


@dataclass
class Rig:
    """What the fake camera system looks like and how it misbehaves.

    Attributes:
        cameras: what `global_camera_info()` returns (empty: no camera attached).
        fail_opens: number of upcoming `Picamera2(...)` constructions that fail.
        fail_captures: number of upcoming `capture_array` calls that raise at once.
        stall_captures: number of upcoming `capture_array` calls that get no frame (camera
            unplugged): TimeoutError after `wait` seconds, or blocking for ever without `wait`.
        instances: every `Picamera2` constructed successfully, in order.
    """

    cameras: list[dict[str, Any]] = field(default_factory=list)
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


def reset(*, cameras: int = 1) -> Rig:
    """Start a fresh camera system with `cameras` cameras attached; return its rig."""
    rig.cameras = [_camera_info(number) for number in range(cameras)]
    rig.fail_opens = 0
    rig.fail_captures = 0
    rig.stall_captures = 0
    rig.instances = []
    return rig


class Picamera2:
    """Fake of `picamera2.Picamera2`; records every call in `calls`."""

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
        main_stream = _stream_config({"format": "XBGR8888", "size": (1280, 720)}, main)
        lores_stream = (
            None
            if lores is None
            else _stream_config({"format": "YUV420", "size": main_stream["size"]}, lores)
        )
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
        _check_stream(camera_config["main"])
        self.camera_config = dict(camera_config)

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
        width, height = stream["size"]
        image = np.zeros((height, width, _CHANNELS[stream["format"]]), dtype=np.uint8)
        image[..., 0] = 255
        image[..., 1] = self._captures % 256
        self._captures += 1
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


def _stream_config(defaults: dict[str, Any], updates: dict[str, Any] | None) -> dict[str, Any]:
    """Like `Picamera2._make_initial_stream_config`: only the known stream keys may be given."""
    stream = dict(defaults)
    for key, value in (updates or {}).items():
        if key not in _VALID_STREAM_KEYS:
            raise ValueError(f"Bad key {key!r}: valid stream configuration keys are {_VALID_STREAM_KEYS}")
        stream[key] = value
    return stream


def _check_stream(stream: dict[str, Any]) -> None:
    """Like `Picamera2.check_stream_config` for the main stream."""
    if stream["format"] not in _CHANNELS:
        raise RuntimeError(f"Bad format {stream['format']} in stream main")
    size = stream["size"]
    if type(size) is not tuple or len(size) != 2:
        raise RuntimeError("size in main stream should be (width, height)")
    if size[0] % 2 or size[1] % 2:
        raise RuntimeError("width and height should be even")
