"""every_nth / EveryNthSource on real sources: frames 0, N, 2N, ... with their own indices and times."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import cv2
import numpy as np
import pytest

from edge.sources import FrameSource, ImageFolderSource, VideoFileSource, prefetch
from edge.sources.thinning import EveryNthSource, every_nth

if TYPE_CHECKING:
    from pathlib import Path

TUD_CAMPUS_FRAMES = 71  # ../shared/data/TUD-Campus/img1, 25 fps (seqinfo.ini)


@pytest.fixture
def tud_campus(shared_data: Path) -> Path:
    return shared_data / "TUD-Campus"


@pytest.mark.parametrize(
    ("every", "kept"),
    [(2, 36), (3, 24), (7, 11), (71, 1), (100, 1)],
    ids=["every-2", "every-3", "every-7", "every-frame-count", "more-than-the-frames"],
)
def test_keeps_frames_0_n_2n_with_their_own_indices_and_times(
    tud_campus: Path, every: int, kept: int
) -> None:
    with EveryNthSource(ImageFolderSource(tud_campus), every) as thinned:
        assert isinstance(thinned, FrameSource)
        assert thinned.frame_count == kept == math.ceil(TUD_CAMPUS_FRAMES / every)
        assert thinned.fps == pytest.approx(25.0 / every)
        frames = list(thinned)
    assert [frame.index for frame in frames] == list(range(0, TUD_CAMPUS_FRAMES, every))
    assert [frame.timestamp_s for frame in frames] == pytest.approx([i / 25.0 for i in range(0, 71, every)])


def test_the_kept_frames_are_the_source_frames_themselves(tud_campus: Path) -> None:
    with ImageFolderSource(tud_campus) as source:
        originals = {frame.index: frame.image for frame in source}
    with every_nth(ImageFolderSource(tud_campus), 10) as thinned:
        for frame in thinned:
            assert np.array_equal(frame.image, originals[frame.index])


def test_a_video_file_thinned_through_prefetch(tmp_path: Path) -> None:
    path = tmp_path / "grey.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 10.0, (32, 24))
    assert writer.isOpened()
    for level in range(10):
        writer.write(np.full((24, 32, 3), 20 * level, dtype=np.uint8))
    writer.release()
    with every_nth(VideoFileSource(path), 4) as thinned:
        frames = list(prefetch(thinned))
        assert (thinned.frame_count, thinned.fps) == (3, 2.5)
    assert [(frame.index, frame.timestamp_s) for frame in frames] == [(0, 0.0), (4, 0.4), (8, 0.8)]
    # Each kept image is its own frame's (grey 20 x index, MJPG-rounded), not the next one decoded.
    assert [int(frame.image.mean() + 0.5) for frame in frames] == pytest.approx([0, 80, 160], abs=3)


def test_the_name_says_how_many_frames_are_kept(tud_campus: Path) -> None:
    with ImageFolderSource(tud_campus) as source:
        assert EveryNthSource(source, 3).name == f"{source.name} (1 frame in 3)"


def test_closing_the_thinned_source_closes_the_source(tmp_path: Path) -> None:
    path = tmp_path / "one.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 10.0, (32, 24))
    for _ in range(5):
        writer.write(np.zeros((24, 32, 3), dtype=np.uint8))
    writer.release()
    source = VideoFileSource(path)
    with every_nth(source, 2) as thinned:
        iterator = iter(thinned)
        next(iterator)
    # A closed video source yields nothing more and can be closed again.
    assert list(iterator) == []
    source.close()


def test_every_1_is_the_source_itself(tud_campus: Path) -> None:
    with ImageFolderSource(tud_campus) as source:
        assert every_nth(source, 1) is source


@pytest.mark.parametrize("every", [0, -2, 1.5, True], ids=["zero", "negative", "fraction", "bool"])
def test_a_bad_step_is_refused(tud_campus: Path, every: object) -> None:
    with (
        ImageFolderSource(tud_campus) as source,
        pytest.raises(ValueError, match="every must be an integer >= 1"),
    ):
        EveryNthSource(source, every)  # type: ignore[arg-type]
