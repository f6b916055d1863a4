"""`open_camera`: the Pi camera delivers its lores stream at the detector's size unless told otherwise;
`camera_frame_size`: the picture the detector input is sized from (input_size "auto")."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.config import Settings
from edge.detect.sizing import input_size_for
from edge.runner import detector_view
from edge.service_build import camera_frame_size, open_camera
from tests.fakes import picamera2 as fake_picamera2


@pytest.fixture
def rig(monkeypatch: pytest.MonkeyPatch) -> Iterator[fake_picamera2.Rig]:
    monkeypatch.setitem(sys.modules, "picamera2", fake_picamera2)
    yield fake_picamera2.reset(cameras=1)
    fake_picamera2.reset()


def first_frame_shape(settings: Settings, detector_input: tuple[int, int] | None) -> tuple[int, ...]:
    with open_camera(settings, detector_input=detector_input) as source:
        frame = next(iter(source))
    return tuple(frame.image.shape)


def test_the_pi_camera_delivers_frames_at_the_detector_size(rig: fake_picamera2.Rig) -> None:
    settings = Settings.model_validate({"source": {"uri": "picamera", "width": 1280, "height": 720}})
    assert first_frame_shape(settings, (416, 416)) == (234, 416, 3)  # 16:9 filling a 416 square
    assert first_frame_shape(settings, (416, 256)) == (234, 416, 3)


def test_the_main_stream_when_the_lores_stream_is_off_or_useless(rig: fake_picamera2.Rig) -> None:
    off = Settings.model_validate(
        {"source": {"uri": "picamera", "width": 1280, "height": 720, "detector_stream": False}}
    )
    assert first_frame_shape(off, (416, 416)) == (720, 1280, 3)
    small = Settings.model_validate({"source": {"uri": "picamera", "width": 320, "height": 180}})
    assert first_frame_shape(small, (416, 416)) == (180, 320, 3)  # main already smaller than needed
    assert first_frame_shape(small, None) == (180, 320, 3)


def test_the_detector_view_grows_with_a_crop() -> None:
    assert detector_view((416, 416), None) == (416, 416)
    assert detector_view((416, 192), (0.0, 0.25, 1.0, 0.75)) == (416, 384)  # half the height holds 192 rows
    assert detector_view((320, 320), (0.1, 0.0, 0.9, 1.0)) == (400, 320)


def test_the_auto_input_and_the_lores_stream_follow_the_camera(rig: fake_picamera2.Rig) -> None:
    settings = Settings.model_validate({"source": {"uri": "picamera", "width": 1280, "height": 720}})
    frame_size = camera_frame_size(settings)
    assert frame_size == (1280, 720)
    detector_input = input_size_for(*frame_size, settings.detector.pixel_budget)
    assert detector_input == (512, 288)
    assert first_frame_shape(settings, detector_input) == (288, 512, 3)  # letterboxed at scale 1


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("picamera:1", (1280, 720)),
        ("usb:0", (1280, 720)),
        ("/dev/video2", (1280, 720)),
        ("rtsp://user:secret@10.0.0.5/stream2", None),
    ],
    ids=["pi-camera", "usb", "v4l2-device", "stream-unknown-until-connected"],
)
def test_camera_frame_size_without_opening_the_camera(
    uri: str, expected: tuple[int, int] | None, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings.model_validate({"source": {"uri": uri, "width": 1280, "height": 720}})
    with caplog.at_level("INFO"):
        assert camera_frame_size(settings) == expected
    assert "secret" not in caplog.text


def test_camera_frame_size_of_a_video_file_is_its_frames(tmp_path: Path) -> None:
    path = tmp_path / "street.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 10.0, (160, 120))
    writer.write(np.zeros((120, 160, 3), dtype=np.uint8))
    writer.release()
    assert camera_frame_size(Settings.model_validate({"source": {"uri": str(path)}})) == (160, 120)
