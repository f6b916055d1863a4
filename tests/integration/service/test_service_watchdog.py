"""sd_notify from the real service loop: READY=1 after the first frame, WATCHDOG=1 while frames flow,
silence when the camera is stuck (so systemd restarts the service)."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Self

import cv2
import numpy as np
import pytest

from edge.calibration_store import CalibrationStore
from edge.config import ApiSettings, MqttSettings, OutboxSettings, Settings
from edge.detect import OnnxDetector
from edge.notify import SystemdNotifier
from edge.records import Frame
from edge.service import Service

PROJECT_ROOT = Path(__file__).resolve().parents[3]
FRAMES_BEFORE_STALL = 25
FPS = 10.0


class StuckCamera:
    """A camera that delivers real frames, then hangs like an unplugged CSI camera (until closed)."""

    def __init__(self, images: list[np.ndarray]) -> None:
        self._images = images
        self._closed = threading.Event()
        self.stalled = threading.Event()

    @property
    def fps(self) -> float:
        return FPS

    @property
    def name(self) -> str:
        return "stuck camera"

    @property
    def frame_count(self) -> int | None:
        return None

    def __iter__(self) -> Iterator[Frame]:
        for index in range(FRAMES_BEFORE_STALL):
            if self._closed.wait(1.0 / FPS):
                return
            yield Frame(index, index / FPS, self._images[index % len(self._images)])
        self.stalled.set()
        self._closed.wait()

    def close(self) -> None:
        self._closed.set()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[tuple[socket.socket, Path]]:
    path = tmp_path / "notify.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(path))
    listener.settimeout(0.2)
    yield listener, path
    listener.close()


def test_ready_then_watchdog_pings_which_stop_when_the_camera_hangs(
    tmp_path: Path, model_path: Path, shared_data: Path, notify_socket: tuple[socket.socket, Path]
) -> None:
    listener, address = notify_socket
    images = [cv2.imread(str(shared_data / "PETS09-S2L1-300" / "img1" / f"{n:06d}.jpg")) for n in range(1, 6)]
    camera = StuckCamera([np.asarray(image, dtype=np.uint8) for image in images])
    calibration = tmp_path / "calibration.json"
    shutil.copyfile(PROJECT_ROOT / "calibration" / "examples" / "pets09-s2l1.json", calibration)
    settings = _settings(tmp_path, calibration)
    # Watchdog period 0.4 s: the service pings every 0.2 s at most.
    notifier = SystemdNotifier({"NOTIFY_SOCKET": str(address), "WATCHDOG_USEC": "400000"})
    service = Service(
        settings,
        source=camera,
        model_file=model_path,
        calibration=CalibrationStore(calibration),
        notifier=notifier,
    )
    stop = threading.Event()
    runner = threading.Thread(target=service.run, args=(stop,))
    runner.start()
    messages: list[tuple[float, str]] = []
    try:
        deadline = time.monotonic() + 30.0
        while time.monotonic() < deadline and not (camera.stalled.is_set() and _quiet_for(messages, 1.5)):
            try:
                messages.append((time.monotonic(), listener.recv(256).decode()))
            except TimeoutError:
                continue
    finally:
        stop.set()
        runner.join(timeout=20)
    assert not runner.is_alive()
    texts = [text for _, text in messages]
    assert texts[0].startswith("READY=1")
    pings = [moment for moment, text in messages if text == "WATCHDOG=1"]
    assert len(pings) >= 3, texts  # 25 frames at 10 fps with a 0.2 s ping period
    # Rate-limited to one per 0.2 s over the 2.5 s of frames (not one per frame: 25).
    assert len(pings) <= FRAMES_BEFORE_STALL / FPS / 0.2 + 2
    assert camera.stalled.is_set()
    # After the camera hung, nothing more than the ping of the frame already in the pipeline.
    assert _quiet_for(messages, 1.5)
    assert texts[-1] in {"WATCHDOG=1", "STOPPING=1"}


def _settings(tmp_path: Path, calibration: Path) -> Settings:
    """Outbox in tmp_path, no broker, no API: only the counting loop under test."""
    return Settings(
        calibration=calibration,
        outbox=OutboxSettings(path=tmp_path / "outbox.sqlite3"),
        mqtt=MqttSettings(enabled=False),
        api=ApiSettings(enabled=False),
    )


@contextmanager
def running(service: Service) -> Iterator[None]:
    """The service's counting loop in a thread for the duration of the block, then stopped."""
    stop = threading.Event()
    runner = threading.Thread(target=service.run, args=(stop,))
    runner.start()
    try:
        yield
    finally:
        stop.set()
        runner.join(timeout=20)


def _quiet_for(messages: list[tuple[float, str]], seconds: float) -> bool:
    last = messages[-1][0] if messages else time.monotonic()
    return time.monotonic() - last >= seconds


def test_the_snapshot_pixelates_everyone_the_detector_finds(
    tmp_path: Path, model_path: Path, shared_data: Path
) -> None:
    raw = np.asarray(cv2.imread(str(shared_data / "PETS09-S2L1-300" / "img1" / "000001.jpg")), dtype=np.uint8)
    camera = StuckCamera([raw])
    calibration = tmp_path / "calibration.json"
    shutil.copyfile(PROJECT_ROOT / "calibration" / "examples" / "pets09-s2l1.json", calibration)
    settings = _settings(tmp_path, calibration)
    service = Service(
        settings, source=camera, model_file=model_path, calibration=CalibrationStore(calibration)
    )
    with running(service):
        assert camera.stalled.wait(30)
        jpeg = service.snapshot_jpeg()
    assert jpeg is not None
    detector = OnnxDetector(model_path)
    people_in_raw = detector.detect(Frame(0, 0.0, raw))
    assert (people_in_raw.scores >= 0.5).sum() >= 3
    snapshot = np.asarray(cv2.imdecode(np.frombuffer(jpeg, dtype=np.uint8), cv2.IMREAD_COLOR), dtype=np.uint8)
    assert snapshot.shape == raw.shape
    people_in_snapshot = detector.detect(Frame(0, 0.0, snapshot))
    assert not (people_in_snapshot.scores >= 0.3).any()
