"""A fake `picamera2` module for machines without a Raspberry Pi camera.

Mirrors the part of the real API (raspberrypi/picamera2, `picamera2/picamera2.py`) that
`edge.sources.picamera` uses, with the same names, parameter names and configuration dict shape:
`Picamera2(camera_num=0, verbose_console=None, tuning=None)`, `Picamera2.global_camera_info()`,
`create_video_configuration(main=..., controls=..., ...)`, `configure(camera_config)`, `start()`,
`capture_array(name="main")`, `stop()`, `close()`. Mutable defaults of the real signatures are
written as None here. Like the real one it validates stream configurations (known keys, size a
tuple of even numbers, known format) and refuses to configure a started camera.

Images are H x W x 3 uint8 for "RGB888"/"BGR888" (X x 4 for the 32-bit formats). Pixel bytes of
RGB888 are B, G, R as in libcamera: channel 0 is 255 (blue), channel 1 the capture counter modulo
256, channel 2 is 0, so a consumer that swaps channels is caught.

Install it with `monkeypatch.setitem(sys.modules, "picamera2", fake_module)` after `reset()`;
steer it through `rig` (`fail_captures`, `fail_opens`, `cameras`) and inspect `rig.instances`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["Picamera2", "Rig", "reset", "rig"]

_CHANNELS = {"RGB888": 3, "BGR888": 3, "XBGR8888": 4, "XRGB8888": 4}
_VALID_STREAM_KEYS = ("format", "size")


@dataclass
class Rig:
    """What the fake camera system looks like and how it misbehaves.

    Attributes:
        cameras: what `global_camera_info()` returns (empty: no camera attached).
        fail_opens: number of upcoming `Picamera2(...)` constructions that fail.
        fail_captures: number of upcoming `capture_array` calls that fail.
        instances: every `Picamera2` constructed successfully, in order.
    """

    cameras: list[dict[str, Any]] = field(default_factory=list)
    fail_opens: int = 0
    fail_captures: int = 0
    instances: list[Picamera2] = field(default_factory=list)


def _camera_info(number: int) -> dict[str, Any]:
    return {
        "Model": "imx708",
        "Location": 2,
        "Rotation": 180,
        "Id": f"/base/fake/i2c@{number}",
        "Num": number,
    }


rig = Rig(cameras=[_camera_info(0)])


def reset(*, cameras: int = 1) -> Rig:
    """Start a fresh camera system with `cameras` cameras attached; return its rig."""
    rig.cameras = [_camera_info(number) for number in range(cameras)]
    rig.fail_opens = 0
    rig.fail_captures = 0
    rig.instances = []
    return rig


class Picamera2:
    """Fake of `picamera2.Picamera2`; records every call in `calls`."""

    @staticmethod
    def global_camera_info() -> list[dict[str, Any]]:
        return [dict(info) for info in rig.cameras]

    def __init__(self, camera_num: int = 0, verbose_console: int | None = None, tuning: Any = None) -> None:
        if not rig.cameras or camera_num >= len(rig.cameras):
            raise RuntimeError("Camera __init__ sequence did not complete.")
        if rig.fail_opens > 0:
            rig.fail_opens -= 1
            raise RuntimeError("Camera __init__ sequence did not complete.")
        self.camera_idx = camera_num
        self.is_open = True
        self.started = False
        self.camera_config: dict[str, Any] | None = None
        self.calls: list[str] = ["__init__"]
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
            "use_case": "video",
            "transform": transform,
            "colour_space": colour_space,
            "buffer_count": buffer_count,
            "queue": queue,
            "main": main_stream,
            "lores": lores_stream,
            "raw": None,
            "controls": {"NoiseReductionMode": 1, "FrameDurationLimits": (33333, 33333)} | (controls or {}),
            "display": display,
            "encode": encode,
        }

    def configure(self, camera_config: dict[str, Any] | str = "preview") -> None:
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
        self.started = True

    def capture_array(
        self, name: str = "main", wait: bool | None = None, signal_function: Any = None
    ) -> npt.NDArray[np.uint8]:
        self.calls.append("capture_array")
        if not self.started or self.camera_config is None:
            raise RuntimeError("Camera not started")
        if rig.fail_captures > 0:
            rig.fail_captures -= 1
            raise RuntimeError("Camera frontend has timed out!")
        stream = self.camera_config[name]
        width, height = stream["size"]
        image = np.zeros((height, width, _CHANNELS[stream["format"]]), dtype=np.uint8)
        image[..., 0] = 255
        image[..., 1] = self._captures % 256
        self._captures += 1
        return image

    def stop(self) -> None:
        self.calls.append("stop")
        self.started = False

    def close(self) -> None:
        self.calls.append("close")
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
    """Like `Picamera2._make_initial_stream_config`: only "format" and "size" may be given."""
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
