"""PrefetchSource: same frames, same order, errors handed over, reader thread never leaked."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

import cv2
import numpy as np
import pytest

from edge.errors import SourceError
from edge.sources import (
    FrameSource,
    ImageFolderSource,
    PrefetchSource,
    StreamSource,
    VideoFileSource,
    prefetch,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path
    from types import TracebackType

    from edge.records import Frame


class CountingSource:
    """Wraps a real source and counts the frames pulled out of it (to see the read-ahead)."""

    def __init__(self, inner: FrameSource) -> None:
        self.inner = inner
        self.pulled = 0
        self.fps = inner.fps
        self.name = inner.name
        self.frame_count = inner.frame_count

    def __iter__(self) -> Iterator[Frame]:
        for frame in self.inner:
            self.pulled += 1
            yield frame

    def close(self) -> None:
        self.inner.close()

    def __enter__(self) -> CountingSource:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()


def prefetch_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith("prefetch ")]


def wait_until(condition: Callable[[], bool], timeout_s: float = 5.0) -> bool:
    deadline_s = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline_s:
            return False
        time.sleep(0.01)
    return True


def image_folder(tmp_path: Path, frames: int, broken: int | None = None) -> Path:
    for i in range(frames):
        path = tmp_path / f"{i + 1:06d}.png"
        if i == broken:
            path.write_bytes(b"not a png")
        else:
            cv2.imwrite(str(path), np.full((8, 8, 3), i, dtype=np.uint8))
    return tmp_path


def test_yields_the_same_frames_in_the_same_order(shared_data: Path) -> None:
    video = shared_data / "TUD-Stadtmitte" / "TUD-Stadtmitte.mp4"
    with VideoFileSource(video) as direct, prefetch(VideoFileSource(video), depth=3) as ahead:
        assert isinstance(ahead, FrameSource)
        assert (ahead.fps, ahead.name, ahead.frame_count) == (direct.fps, direct.name, direct.frame_count)
        pairs = 0
        for expected, got in zip(direct, ahead, strict=True):
            assert (got.index, got.timestamp_s) == (expected.index, expected.timestamp_s)
            assert np.array_equal(got.image, expected.image)
            pairs += 1
    assert pairs == 179
    assert wait_until(lambda: not prefetch_threads())


def test_reads_ahead_at_most_depth_frames(tmp_path: Path) -> None:
    counting = CountingSource(ImageFolderSource(image_folder(tmp_path, frames=10), fps=5.0))
    with PrefetchSource(counting, depth=2) as ahead:
        frames = iter(ahead)
        assert next(frames).index == 0
        # one consumed, two queued, one in the reader's hand waiting for room
        assert wait_until(lambda: counting.pulled == 4)
        time.sleep(0.2)
        assert counting.pulled == 4
        assert [frame.index for frame in frames] == list(range(1, 10))


def test_reader_exception_reaches_the_consumer_in_order(tmp_path: Path) -> None:
    source = ImageFolderSource(image_folder(tmp_path, frames=6, broken=3), fps=5.0)
    received: list[int] = []
    with pytest.raises(SourceError, match=r"000004\.png"), prefetch(source) as ahead:
        received.extend(frame.index for frame in ahead)
    assert received == [0, 1, 2]
    assert wait_until(lambda: not prefetch_threads())


def test_close_stops_the_reader_thread_and_closes_the_source(tmp_path: Path) -> None:
    clip = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter.fourcc(*"MJPG"), 10.0, (32, 24))
    for i in range(3):
        writer.write(np.full((24, 32, 3), i, dtype=np.uint8))
    writer.release()
    endless = StreamSource(str(clip), sleep=lambda _: None)  # end of clip -> reconnect -> forever
    ahead = prefetch(endless, depth=2)
    frames = iter(ahead)
    assert [next(frames).index for _ in range(5)] == [0, 1, 2, 3, 4]
    assert len(prefetch_threads()) == 1

    ahead.close()

    assert prefetch_threads() == []
    assert next(frames, None) is None
    with pytest.raises(SourceError, match="closed"):
        iter(endless)


def test_stopping_iteration_early_stops_the_reader(shared_data: Path) -> None:
    with prefetch(ImageFolderSource(shared_data / "PETS09-S2L1-300")) as ahead:
        for frame in ahead:
            if frame.index == 1:
                break
        assert wait_until(lambda: not prefetch_threads())


def test_close_from_another_thread_wakes_a_waiting_consumer(tmp_path: Path) -> None:
    never_opens = StreamSource(str(tmp_path / "gone.avi"), backoff_initial_s=30.0, backoff_max_s=30.0)
    ahead = prefetch(never_opens)
    received: list[Frame] = []
    consumer = threading.Thread(target=lambda: received.extend(ahead))
    consumer.start()
    assert wait_until(lambda: len(prefetch_threads()) == 1)

    started_s = time.monotonic()
    ahead.close()
    consumer.join(timeout=5.0)

    assert not consumer.is_alive()
    assert time.monotonic() - started_s < 2.0
    assert received == []
    assert prefetch_threads() == []


def test_misuse(shared_data: Path) -> None:
    source = ImageFolderSource(shared_data / "PETS09-S2L1-300")
    with pytest.raises(ValueError, match="depth"):
        PrefetchSource(source, depth=0)
    with prefetch(source) as ahead:
        iter(ahead)
        with pytest.raises(RuntimeError, match="only once"):
            iter(ahead)
    with pytest.raises(SourceError, match="closed"):
        iter(ahead)
