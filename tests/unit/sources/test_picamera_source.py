"""PicameraSource against the fake picamera2 module (the camera is the hardware edge)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

from edge.errors import SourceDisconnectedError, SourceError
from edge.sources import FrameSource, PicameraSource
from edge.sources.picamera import attached_cameras
from tests.fakes import picamera2 as fake_picamera2

if TYPE_CHECKING:
    from collections.abc import Iterator

SIZE = (64, 48)  # width, height


class RecordingSleep:
    def __init__(self) -> None:
        self.delays_s: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays_s.append(seconds)


@pytest.fixture
def rig(monkeypatch: pytest.MonkeyPatch) -> Iterator[fake_picamera2.Rig]:
    """A fresh fake camera system with one camera, installed as the `picamera2` module."""
    monkeypatch.setitem(sys.modules, "picamera2", fake_picamera2)
    yield fake_picamera2.reset(cameras=1)
    fake_picamera2.reset()


def test_frames_are_bgr_uint8_of_the_configured_size(rig: fake_picamera2.Rig) -> None:
    with PicameraSource(size=SIZE) as source:
        assert isinstance(source, FrameSource)
        assert (source.name, source.fps, source.frame_count) == ("picamera:0", 30.0, None)
        frames = [frame for _, frame in zip(range(3), source, strict=False)]

    assert [frame.index for frame in frames] == [0, 1, 2]
    assert frames[0].timestamp_s == 0.0
    for number, frame in enumerate(frames):
        assert (frame.image.shape, frame.image.dtype) == ((48, 64, 3), np.dtype(np.uint8))
        # The fake fills B=255, G=capture number, R=0: the default order must not swap channels.
        assert tuple(frame.image[0, 0]) == (255, number, 0)


def test_rgb_channel_order_swaps_red_and_blue(rig: fake_picamera2.Rig) -> None:
    with PicameraSource(size=SIZE, channel_order="rgb") as source:
        frames = [frame for _, frame in zip(range(2), source, strict=False)]

    for number, frame in enumerate(frames):
        assert frame.image.shape == (48, 64, 3)
        assert frame.image.flags["C_CONTIGUOUS"]
        assert tuple(frame.image[0, 0]) == (0, number, 255)
        assert tuple(frame.image[-1, -1]) == (0, number, 255)


def test_every_capture_has_a_timeout(rig: fake_picamera2.Rig) -> None:
    with PicameraSource(size=SIZE, capture_timeout_s=2.5) as source:
        frames = iter(source)
        next(frames)
        next(frames)
    assert rig.instances[0].waits == [2.5, 2.5]


def test_camera_is_configured_started_and_released_through_the_real_api(rig: fake_picamera2.Rig) -> None:
    with PicameraSource(size=SIZE, fps=12.0, camera_num=0) as source:
        next(iter(source))
    assert source.fps == 12.0

    (camera,) = rig.instances
    assert camera.camera_idx == 0
    assert camera.calls == [
        "__init__",
        "create_video_configuration",
        "configure",
        "start",
        "capture_array",
        "cancel_all_and_flush",
        "close",
        "stop",  # the real close() stops a started camera itself
    ]
    assert camera.camera_config is not None
    assert camera.camera_config["main"] == {"size": SIZE, "format": "RGB888"}
    assert camera.camera_config["controls"]["FrameRate"] == 12.0
    assert not camera.is_open
    assert not camera.started


def test_without_fps_no_frame_rate_control_is_sent(rig: fake_picamera2.Rig) -> None:
    with PicameraSource(size=SIZE) as source:
        next(iter(source))
    assert rig.instances[0].camera_config is not None
    assert "FrameRate" not in rig.instances[0].camera_config["controls"]


def test_stalled_camera_times_out_and_is_reopened_with_backoff(
    rig: fake_picamera2.Rig, caplog: pytest.LogCaptureFixture
) -> None:
    sleep = RecordingSleep()
    with PicameraSource(size=SIZE, capture_timeout_s=1.5, sleep=sleep) as source:
        frames = iter(source)
        first = next(frames)
        rig.stall_captures = 2  # unplugged: the next two captures get no frame
        second = next(frames)

    assert (first.index, second.index) == (0, 1)
    assert sleep.delays_s == [0.5, 1.0]
    assert len(rig.instances) == 3
    stalled = rig.instances[0]
    # The timed-out capture is cancelled before closing, so closing does not wait behind it.
    assert stalled.calls[-4:] == ["capture_array", "cancel_all_and_flush", "close", "stop"]
    assert all(not camera.is_open for camera in rig.instances)
    assert "no frame within 1.5 s (camera unplugged or stalled)" in caplog.text


def test_capture_failure_recreates_the_camera_with_backoff(rig: fake_picamera2.Rig) -> None:
    sleep = RecordingSleep()
    with PicameraSource(size=SIZE, sleep=sleep) as source:
        frames = iter(source)
        first = next(frames)
        rig.fail_captures = 2
        rig.fail_opens = 1
        second = next(frames)

    assert (first.index, second.index) == (0, 1)
    # capture fails; re-create fails; re-create ok but capture fails; re-create ok, capture ok
    assert sleep.delays_s == [0.5, 1.0, 2.0]
    assert len(rig.instances) == 3
    assert all(not camera.is_open for camera in rig.instances)


def test_camera_that_keeps_stalling_raises_disconnected(rig: fake_picamera2.Rig) -> None:
    rig.stall_captures = 10
    sleep = RecordingSleep()
    with pytest.raises(SourceDisconnectedError, match=r"picamera:0: no frames after 2 reconnect.*no frame"):
        next(iter(PicameraSource(size=SIZE, max_reconnects=2, sleep=sleep)))
    assert sleep.delays_s == [0.5, 1.0]
    assert len(rig.instances) == 3
    assert all(not camera.is_open for camera in rig.instances)


def test_camera_that_keeps_failing_to_open_raises_disconnected(rig: fake_picamera2.Rig) -> None:
    rig.fail_opens = 10
    sleep = RecordingSleep()
    with pytest.raises(SourceDisconnectedError, match=r"picamera:0.*Camera __init__"):
        next(iter(PicameraSource(size=SIZE, max_reconnects=3, sleep=sleep)))
    assert sleep.delays_s == [0.5, 1.0, 2.0]


def test_missing_picamera2_module(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "picamera2", None)  # makes `import picamera2` fail
    with pytest.raises(SourceError, match="picamera2 is not installed; install the 'pi' extra"):
        PicameraSource()
    with pytest.raises(SourceError, match="picamera2 is not installed"):
        attached_cameras()


@pytest.mark.parametrize(
    ("cameras", "camera_num", "message"),
    [
        (0, 0, r"no camera found: check the ribbon cable .*rpicam-hello --list-cameras"),
        (1, 1, "camera 1 not found: 1 camera"),
    ],
    ids=["no-camera", "camera-number-too-high"],
)
def test_absent_camera_is_a_source_error_not_an_index_error(
    rig: fake_picamera2.Rig, cameras: int, camera_num: int, message: str
) -> None:
    fake_picamera2.reset(cameras=cameras)
    with pytest.raises(IndexError):  # what the real Picamera2() does without a camera
        fake_picamera2.Picamera2(camera_num)
    with pytest.raises(SourceError, match=message):
        PicameraSource(camera_num=camera_num)
    assert rig.instances == []


@pytest.mark.parametrize(("cameras", "expected"), [(0, ()), (2, ("imx708", "imx708"))], ids=["none", "two"])
def test_attached_cameras_lists_models_without_opening_any(
    rig: fake_picamera2.Rig, cameras: int, expected: tuple[str, ...]
) -> None:
    fake_picamera2.reset(cameras=cameras)
    assert attached_cameras() == expected
    assert rig.instances == []


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"size": (63, 48)}, "size"),
        ({"size": (0, 48)}, "size"),
        ({"camera_num": -1}, "camera_num"),
        ({"fps": -5.0}, "fps"),
        ({"channel_order": "grb"}, "channel_order"),
        ({"capture_timeout_s": 0.0}, "capture_timeout_s"),
    ],
    ids=["odd-width", "zero-width", "negative-camera", "negative-fps", "unknown-order", "zero-timeout"],
)
def test_constructor_misuse_names_the_argument(
    rig: fake_picamera2.Rig, kwargs: dict[str, Any], argument: str
) -> None:
    with pytest.raises(ValueError, match=argument):
        PicameraSource(**kwargs)


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (
            ValueError("numpy.dtype size changed, may indicate binary incompatibility"),
            "install simplejpeg into",
        ),
        (
            ImportError("numpy.core.multiarray failed to import", name="numpy.core.multiarray"),
            "cannot be imported",
        ),
    ],
    ids=["numpy-abi-value-error", "numpy-abi-import-error"],
)
def test_broken_picamera2_import_is_not_reported_as_missing(
    monkeypatch: pytest.MonkeyPatch, error: Exception, message: str
) -> None:
    class BrokenModule:
        """Stands in for picamera2 whose import fails inside (apt's numpy 1.x extensions)."""

        def __getattr__(self, name: str) -> Any:
            raise error

    monkeypatch.setitem(sys.modules, "picamera2", BrokenModule())
    with pytest.raises(SourceError, match=message) as caught:
        PicameraSource()
    assert "not installed" not in str(caught.value)
