"""PicameraSource against the fake picamera2 module (the camera is the hardware edge)."""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pytest

from edge.errors import SourceDisconnectedError, SourceError
from edge.sources import FrameSource, PicameraSource
from edge.sources.picamera import attached_cameras, i420_to_bgr
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
    assert (camera.camera_config["main"]["size"], camera.camera_config["main"]["format"]) == (SIZE, "RGB888")
    assert camera.camera_config["lores"] is None  # main-only unless lores_size is given
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


# --- lores: frames from the ISP's small stream -----------------------------------------------------

LORES = (104, 58)  # not a multiple of the 64-pixel YUV420 row alignment: the stride is padded
MAIN = (320, 180)  # 16:9, like LORES
BLUE, GREEN, RED, GREY = (255, 0, 0), (0, 255, 0), (0, 0, 255), (128, 128, 128)


def pixel(image: np.ndarray, row: int, column: int) -> tuple[int, ...]:
    return tuple(int(value) for value in image[row, column])


def quadrant_scene(width: int, height: int) -> np.ndarray:
    """BGR picture with four flat quadrants split on even rows and columns (no chroma straddles)."""
    scene = np.empty((height, width, 3), dtype=np.uint8)
    middle_x, middle_y = width // 2 // 2 * 2, height // 2 // 2 * 2
    scene[:middle_y, :middle_x] = BLUE
    scene[:middle_y, middle_x:] = RED
    scene[middle_y:, :middle_x] = GREEN
    scene[middle_y:, middle_x:] = GREY
    return scene


@pytest.mark.parametrize("channel_order", ["bgr", "rgb"], ids=["bgr", "rgb-ignored-for-yuv"])
@pytest.mark.parametrize("lores_size", [LORES, (128, 72)], ids=["padded-stride", "exact-stride"])
def test_lores_frames_are_bgr_of_the_lores_size_with_true_colours(
    rig: fake_picamera2.Rig, lores_size: tuple[int, int], channel_order: Literal["bgr", "rgb"]
) -> None:
    rig.scene = quadrant_scene(*lores_size)
    with PicameraSource(size=MAIN, lores_size=lores_size, channel_order=channel_order) as source:
        frames = [frame for _, frame in zip(range(2), source, strict=False)]

    width, height = lores_size
    for frame in frames:
        assert (frame.image.shape, frame.image.dtype) == ((height, width, 3), np.dtype(np.uint8))
        assert frame.image.flags["C_CONTIGUOUS"]
        # I420 keeps colours within a few levels (BT.601 limited range, 8-bit rounding).
        difference = np.abs(frame.image.astype(np.int16) - rig.scene.astype(np.int16))
        assert int(difference.max()) <= 3
    assert pixel(frames[0].image, -1, -1) == pytest.approx(GREY, abs=3)  # last column is picture


def test_lores_stride_padding_is_cropped(rig: fake_picamera2.Rig) -> None:
    rig.scene = quadrant_scene(*LORES)
    with PicameraSource(size=MAIN, lores_size=LORES) as source:
        frames = iter(source)
        frame = next(frames)
        camera = rig.instances[0]
        raw = camera.capture_array("lores", wait=1.0)  # the camera is still running

    assert camera.camera_config is not None
    stride = camera.camera_config["lores"]["stride"]
    assert stride > LORES[0]
    assert raw.shape == (LORES[1] * 3 // 2, stride)  # what picamera2 hands over, padding kept
    assert frame.image.shape == (LORES[1], LORES[0], 3)
    # The right-hand quadrants reach the last column: no padding (Y=0: near black) survived.
    assert pixel(frame.image, 0, -1) == pytest.approx(RED, abs=3)
    assert pixel(frame.image, -1, -1) == pytest.approx(GREY, abs=3)


def test_lores_configuration_reads_only_the_small_stream(rig: fake_picamera2.Rig) -> None:
    with PicameraSource(size=MAIN, lores_size=LORES, fps=10.0, capture_timeout_s=2.0) as source:
        frames = iter(source)
        next(frames)
        next(frames)

    (camera,) = rig.instances
    assert camera.camera_config is not None
    main, lores = camera.camera_config["main"], camera.camera_config["lores"]
    assert (main["size"], main["format"]) == (MAIN, "YUV420")
    assert (lores["size"], lores["format"]) == (LORES, "YUV420")
    assert camera.camera_config["controls"]["FrameRate"] == 10.0
    assert camera.calls.count("capture_array") == 2
    assert camera.waits == [2.0, 2.0]


def test_lores_stream_comes_back_after_a_reconnect(rig: fake_picamera2.Rig) -> None:
    sleep = RecordingSleep()
    with PicameraSource(size=MAIN, lores_size=LORES, sleep=sleep) as source:
        frames = iter(source)
        first = next(frames)
        rig.stall_captures = 1
        second = next(frames)

    assert first.image.shape == second.image.shape == (LORES[1], LORES[0], 3)
    assert len(rig.instances) == 2
    assert sleep.delays_s == [0.5]


@pytest.mark.parametrize(
    ("channel_order", "expected_pixel"),
    [("bgr", (255, 0, 0)), ("rgb", (0, 0, 255))],
    ids=["bgr", "rgb-swapped"],
)
def test_pi5_lores_is_rgb888_and_keeps_the_channel_order_setting(
    rig: fake_picamera2.Rig, channel_order: Literal["bgr", "rgb"], expected_pixel: tuple[int, int, int]
) -> None:
    fake_picamera2.reset(platform=fake_picamera2.Platform.PISP)
    with PicameraSource(size=MAIN, lores_size=LORES, channel_order=channel_order) as source:
        frame = next(iter(source))

    camera_config = rig.instances[0].camera_config
    assert camera_config is not None
    assert camera_config["lores"]["format"] == "RGB888"
    assert frame.image.shape == (LORES[1], LORES[0], 3)
    # The fake's flat picture is B=255, G=capture number (0), R=0 in RGB888's B, G, R bytes.
    assert tuple(frame.image[0, 0]) == expected_pixel


@pytest.mark.parametrize(
    ("lores_size", "message"),
    [
        ((105, 58), "lores_size must be .* even"),
        ((104, 0), "lores_size must be .* positive"),
        ((104,), "lores_size must be"),
        ((322, 58), "lores_size .* must not exceed the main stream size"),
        ((104, 182), "lores_size .* must not exceed the main stream size"),
    ],
    ids=["odd-width", "zero-height", "one-side", "wider-than-main", "taller-than-main"],
)
def test_invalid_lores_size_is_rejected_before_opening_the_camera(
    rig: fake_picamera2.Rig, lores_size: tuple[int, ...], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        PicameraSource(size=MAIN, lores_size=lores_size)  # type: ignore[arg-type]
    assert rig.instances == []


@pytest.mark.parametrize(
    ("lores_size", "warned"),
    [(LORES, False), ((104, 78), True)],
    ids=["same-aspect", "4:3-lores-on-16:9-main"],
)
def test_lores_aspect_ratio_other_than_mains_is_warned_about(
    rig: fake_picamera2.Rig, caplog: pytest.LogCaptureFixture, lores_size: tuple[int, int], warned: bool
) -> None:
    with caplog.at_level(logging.WARNING, logger="edge.sources.picamera"):
        PicameraSource(size=MAIN, lores_size=lores_size).close()
    assert ("people look stretched" in caplog.text) is warned


@pytest.mark.parametrize(
    ("planes", "size"),
    [
        (np.zeros((86, 100), np.uint8), (100, 58)),  # one row short
        (np.zeros((87, 96), np.uint8), (100, 58)),  # narrower than the picture
        (np.zeros((58, 100, 3), np.uint8), (100, 58)),  # an RGB image, not planes
        (np.zeros((87, 128), np.float32), (100, 58)),
    ],
    ids=["short", "narrow", "three-channel", "float"],
)
def test_i420_conversion_rejects_arrays_that_are_not_yuv420(
    planes: np.ndarray, size: tuple[int, int]
) -> None:
    with pytest.raises(SourceError, match="not YUV420 planes of 100x58"):
        i420_to_bgr(planes, size)


# --- the fake refuses what picamera2 refuses --------------------------------------------------------


@pytest.mark.parametrize(
    ("platform", "lores", "error"),
    [
        (
            fake_picamera2.Platform.VC4,
            {"size": (322, 240)},
            "lores stream dimensions may not exceed main stream",
        ),
        (fake_picamera2.Platform.VC4, {"size": (100, 58), "format": "RGB888"}, "lores stream must be YUV"),
        (fake_picamera2.Platform.PISP, {"size": (100, 58), "format": "RGB888"}, None),
        (fake_picamera2.Platform.VC4, {"size": (101, 59)}, None),  # rounded down to even first
    ],
    ids=["lores-larger", "vc4-rgb-lores", "pisp-rgb-lores", "odd-rounded"],
)
def test_fake_validates_lores_like_picamera2(
    rig: fake_picamera2.Rig, platform: fake_picamera2.Platform, lores: dict[str, Any], error: str | None
) -> None:
    fake_picamera2.reset(platform=platform)
    camera = fake_picamera2.Picamera2(0)
    config = camera.create_video_configuration(main={"size": (320, 240)}, lores=lores)
    if error is not None:
        with pytest.raises(RuntimeError, match=error):
            camera.configure(config)
        assert camera.camera_configuration() is None
        return
    camera.configure(config)
    stream = camera.stream_configuration("lores")
    assert stream["size"][0] % 2 == stream["size"][1] % 2 == 0
    assert stream["stride"] >= stream["size"][0]
