"""`LatestFrameReader`: a camera that fails while running, or is missing at start, comes back.

The sources here are scripted `FrameSource`s (the reader's input protocol), failing the way real
ones do: an exception of any type in the middle of a read, an open that raises, a stream that
ends. The real service process with a camera file that disappears is in
tests/e2e/test_service_camera_recovery.py.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Self

import numpy as np

from edge.errors import SourceError
from edge.records import Frame
from edge.sources.camera import LatestFrameReader

IMAGE = np.zeros((4, 4, 3), dtype=np.uint8)


class ScriptedCamera:
    """Yields `frames` frames (indices and timestamps from 0), then raises `failure` if given."""

    def __init__(self, frames: int, failure: Exception | None = None, fps: float = 10.0) -> None:
        self._frames = frames
        self._failure = failure
        self._fps = fps
        self.closed = threading.Event()

    @property
    def fps(self) -> float:
        return self._fps

    @property
    def name(self) -> str:
        return "scripted camera"

    @property
    def frame_count(self) -> int | None:
        return None

    def __iter__(self) -> Iterator[Frame]:
        for index in range(self._frames):
            if self.closed.is_set():
                return
            time.sleep(0.005)
            yield Frame(index, index / self._fps, IMAGE)
        if self._failure is not None:
            raise self._failure

    def close(self) -> None:
        self.closed.set()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()


def _drain(
    reader: LatestFrameReader, until: Callable[[list[Frame], list[str]], bool]
) -> tuple[list[Frame], list[str]]:
    """Take frames and failures until `until(frames, failures)` holds (10 s at most)."""
    frames: list[Frame] = []
    failures: list[str] = []
    deadline = time.monotonic() + 10
    while not until(frames, failures):
        assert time.monotonic() < deadline, (len(frames), failures)
        try:
            latest = reader.take(0.05)
        except SourceError as exc:
            failures.append(str(exc))
            time.sleep(0.01)
            continue
        if latest is not None:
            frames.append(latest.frame)
    return frames, failures


def test_a_read_error_of_any_kind_is_reported_then_the_camera_is_reopened_and_time_goes_on() -> None:
    opened: list[ScriptedCamera] = []

    def reopen() -> ScriptedCamera:
        opened.append(ScriptedCamera(5, failure=RuntimeError("Camera frontend has timed out")))
        return opened[-1]

    reader = LatestFrameReader(reopen(), reopen=reopen, retry_initial_s=0.05, retry_max_s=0.2)
    reader.start()
    try:
        frames, failures = _drain(reader, lambda frames, failures: len(opened) >= 3 and len(frames) >= 12)
    finally:
        reader.close()
    assert any("RuntimeError: Camera frontend has timed out" in text for text in failures)
    indices = [frame.index for frame in frames]
    times = [frame.timestamp_s for frame in frames]
    assert indices == sorted(set(indices)), "indices must keep increasing across reopens"
    assert all(later > earlier for earlier, later in itertools.pairwise(times)), times
    # The outage (at least one retry wait) shows in media time: the gap is longer than a frame.
    assert max(later - earlier for earlier, later in itertools.pairwise(times)) >= 0.05
    assert all(camera.closed.is_set() for camera in opened[:-1]), "a failed camera was not released"


def test_a_camera_missing_at_start_is_tried_with_backoff_until_it_appears() -> None:
    attempts: list[float] = []

    def reopen() -> ScriptedCamera:
        attempts.append(time.monotonic())
        if len(attempts) < 4:
            raise SourceError("no such file or folder: /dev/video0")
        return ScriptedCamera(1000)

    reader = LatestFrameReader(None, reopen=reopen, retry_initial_s=0.05, retry_max_s=1.0)
    reader.start()
    try:
        _, failures = _drain(reader, lambda frames, failures: len(frames) >= 3)
    finally:
        reader.close()
    assert failures, "the missing camera must be reported while it is missing"
    assert all("/dev/video0" in text for text in failures)
    waits = [later - earlier for earlier, later in itertools.pairwise(attempts)]
    assert waits[1] > waits[0] * 1.5, f"no backoff between attempts: {waits}"


def test_after_the_camera_is_back_take_no_longer_raises() -> None:
    calls = 0

    def reopen() -> ScriptedCamera:
        nonlocal calls
        calls += 1
        return ScriptedCamera(1000)

    reader = LatestFrameReader(
        ScriptedCamera(3, failure=OSError("ribbon")), reopen=reopen, retry_initial_s=0.05
    )
    reader.start()
    try:
        _drain(reader, lambda frames, failures: bool(failures) and calls >= 1 and len(frames) >= 5)
        for _ in range(10):
            assert reader.take(1.0) is not None  # never raises once frames flow again
    finally:
        reader.close()


def test_without_reopen_a_failure_is_final_and_a_finite_source_ends() -> None:
    failing = LatestFrameReader(ScriptedCamera(2, failure=ValueError("broken")))
    failing.start()
    try:
        _drain(failing, lambda frames, failures: len(failures) >= 3)
        assert not failing.ended
    finally:
        failing.close()
    finite = LatestFrameReader(ScriptedCamera(2))
    finite.start()
    try:
        _drain(finite, lambda frames, failures: finite.ended)
    finally:
        finite.close()


def test_close_interrupts_a_backoff_wait() -> None:
    def reopen() -> ScriptedCamera:
        raise SourceError("camera unplugged")

    reader = LatestFrameReader(None, reopen=reopen, retry_initial_s=30.0, retry_max_s=30.0)
    reader.start()
    _drain(reader, lambda frames, failures: bool(failures))
    started = time.monotonic()
    reader.close()
    assert time.monotonic() - started < 2.0


def test_messages_never_quote_stream_credentials() -> None:
    def reopen() -> ScriptedCamera:
        raise ConnectionError("failed to open rtsp://admin:s3cret@10.0.0.5/stream")

    reader = LatestFrameReader(None, reopen=reopen, retry_initial_s=0.05)
    reader.start()
    try:
        _, failures = _drain(reader, lambda frames, failures: bool(failures))
    finally:
        reader.close()
    assert "s3cret" not in failures[0]
    assert "rtsp://10.0.0.5/stream" in failures[0]
