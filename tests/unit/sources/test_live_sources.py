"""The shared reconnect loop of live sources, driven through StreamSource and UsbCameraSource.

OpenCV opens a local file as a "stream"; its end counts as a dropped stream, and deleting the file
makes every reconnect fail, so the real capture code runs under an injected clock.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import pytest

from edge.errors import SourceDisconnectedError
from edge.sources import FrameSource, StreamSource, UsbCameraSource

if TYPE_CHECKING:
    from pathlib import Path

    from edge.records import Frame

CLIP_SIZE = (64, 48)  # width, height of the synthetic clips
FRAME_TIME_S = 0.04  # the fake clock advances this much per reading


class FakeClock:
    """Monotonic clock and sleep that only move when the source asks."""

    def __init__(self) -> None:
        self.now_s = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        self.now_s += FRAME_TIME_S
        return self.now_s

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now_s += seconds


def write_clip(path: Path, frames: int, fps: float = 10.0) -> Path:
    """Write an MJPG AVI whose frame i is flat grey level 10 * i."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, CLIP_SIZE)
    assert writer.isOpened()
    for i in range(frames):
        writer.write(np.full((CLIP_SIZE[1], CLIP_SIZE[0], 3), 10 * i, dtype=np.uint8))
    writer.release()
    return path


def closed_port() -> int:
    """A loopback TCP port nobody listens on (connections are refused at once)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    return write_clip(tmp_path / "clip.avi", frames=3)


def test_backoff_doubles_up_to_the_cap_then_gives_up(clip: Path) -> None:
    clock = FakeClock()
    source = StreamSource(
        str(clip),
        backoff_initial_s=0.5,
        backoff_max_s=3.0,
        max_reconnects=5,
        sleep=clock.sleep,
        monotonic=clock.monotonic,
    )
    frames: list[Frame] = []

    def read_then_delete_the_clip() -> None:
        for frame in source:
            frames.append(frame)
            if len(frames) == 3:
                clip.unlink()  # the open capture still reaches the end; every reopen fails

    with pytest.raises(SourceDisconnectedError, match="after 5 reconnect attempts"):
        read_then_delete_the_clip()

    assert [frame.index for frame in frames] == [0, 1, 2]
    assert clock.sleeps == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_good_frame_resets_backoff_and_indices_keep_counting(
    clip: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    with (
        caplog.at_level(logging.INFO, logger="edge.sources"),
        StreamSource(str(clip), sleep=clock.sleep, monotonic=clock.monotonic) as source,
    ):
        frames = [frame for _, frame in zip(range(9), source, strict=False)]

    assert clock.sleeps == [0.5, 0.5]  # each end of the clip is one drop, each reopen succeeds
    assert [frame.index for frame in frames] == list(range(9))
    assert [round(float(frame.image.mean()) / 10) for frame in frames] == [0, 1, 2] * 3
    assert caplog.text.count("reconnecting in 0.5 s (attempt 1)") == 2
    assert "delivering frames again after 1 failed attempts" in caplog.text


def test_live_timestamps_are_clock_seconds_since_first_frame(clip: Path) -> None:
    clock = FakeClock()
    with StreamSource(str(clip), sleep=clock.sleep, monotonic=clock.monotonic) as source:
        stamps = [frame.timestamp_s for _, frame in zip(range(4), source, strict=False)]

    assert stamps[0] == 0.0
    assert stamps[1:3] == pytest.approx([FRAME_TIME_S, 2 * FRAME_TIME_S])
    assert stamps[3] - stamps[2] == pytest.approx(0.5 + FRAME_TIME_S)  # the backoff wait is in the gap


def test_stream_fps_is_override_else_reported_else_default(clip: Path) -> None:
    source = StreamSource(str(clip), sleep=FakeClock().sleep)
    assert source.fps == 25.0
    assert source.frame_count is None
    next(iter(source))
    assert source.fps == 10.0
    source.close()
    assert StreamSource(str(clip), fps=5.0).fps == 5.0


def test_zero_reconnects_gives_up_at_first_failure(tmp_path: Path) -> None:
    clock = FakeClock()
    source = StreamSource(str(tmp_path / "gone.avi"), max_reconnects=0, sleep=clock.sleep)
    with pytest.raises(SourceDisconnectedError, match="cannot open"):
        next(iter(source))
    assert clock.sleeps == []


def test_credentials_never_appear_in_name_logs_or_errors(
    caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    port = closed_port()
    clock = FakeClock()
    source = StreamSource(
        f"rtsp://admin:hunter2@127.0.0.1:{port}/live?channel=1&password=sesame",
        max_reconnects=2,
        sleep=clock.sleep,
    )
    assert isinstance(source, FrameSource)
    assert source.name == f"rtsp://127.0.0.1:{port}/live?channel=1&password=***"

    with caplog.at_level(logging.DEBUG), pytest.raises(SourceDisconnectedError) as raised:
        list(source)

    assert clock.sleeps == [0.5, 1.0]
    assert "reconnecting in" in caplog.text
    printed = capfd.readouterr()
    for text in (str(raised.value), caplog.text, printed.out, printed.err):
        assert "hunter2" not in text
        assert "sesame" not in text
        assert "admin" not in text


def test_usb_camera_that_is_absent_reconnects_then_gives_up() -> None:
    clock = FakeClock()
    source = UsbCameraSource(99, width=640, height=480, max_reconnects=2, sleep=clock.sleep)
    assert (source.name, source.frame_count) == ("usb:99", None)
    with pytest.raises(SourceDisconnectedError, match="usb:99"):
        list(source)
    assert clock.sleeps == [0.5, 1.0]


def test_close_from_another_thread_interrupts_the_backoff_wait(tmp_path: Path) -> None:
    source = StreamSource(str(tmp_path / "gone.avi"), backoff_initial_s=30.0, backoff_max_s=30.0)
    closer = threading.Timer(0.2, source.close)
    started_s = time.monotonic()
    closer.start()
    try:
        frames = list(source)
    finally:
        closer.cancel()
    assert frames == []
    assert time.monotonic() - started_s < 5.0


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"backoff_initial_s": 0.0}, "backoff_initial_s"),
        ({"backoff_initial_s": 2.0, "backoff_max_s": 1.0}, "backoff_max_s"),
        ({"max_reconnects": -1}, "max_reconnects"),
        ({"fps": 0.0}, "fps"),
    ],
    ids=["zero-initial-backoff", "cap-below-initial", "negative-reconnects", "zero-fps"],
)
def test_live_constructor_misuse_names_the_argument(kwargs: dict[str, Any], argument: str) -> None:
    with pytest.raises(ValueError, match=argument):
        StreamSource("rtsp://camera.local/live", **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [({"width": 0}, "width"), ({"height": -480}, "height")],
    ids=["zero-width", "negative-height"],
)
def test_usb_size_must_be_positive(kwargs: dict[str, Any], argument: str) -> None:
    with pytest.raises(ValueError, match=argument):
        UsbCameraSource(0, **kwargs)
