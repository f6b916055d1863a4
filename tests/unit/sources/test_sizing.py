"""lores_size_for: the smallest stream the letterbox never enlarges, checked against the letterbox;
first_frame_size: a source's frame size without losing its frames."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.detect.letterbox import Letterbox
from edge.sources import ImageFolderSource, VideoFileSource
from edge.sources.sizing import first_frame_size, lores_size_for


def letterbox_scale(stream: tuple[int, int], detector_input: tuple[int, int]) -> float:
    """The scale the detector's own letterbox applies to a frame of `stream` size."""
    width, height = stream
    input_width, input_height = detector_input
    _, scale = Letterbox(input_height, input_width, buffers=1)(np.zeros((height, width, 3), np.uint8))
    return scale


@pytest.mark.parametrize(
    ("detector_input", "aspect", "alignment_px", "expected"),
    [
        ((416, 416), 16 / 9, 2, (416, 234)),
        ((416, 416), 4 / 3, 2, (416, 312)),
        ((640, 640), 16 / 9, 2, (640, 360)),
        ((640, 384), 16 / 9, 2, (640, 360)),  # width-limited: 640x360 fills the 640 side
        ((640, 384), 4 / 3, 2, (512, 384)),  # height-limited: 384 rows, width follows the aspect
        ((416, 416), 9 / 16, 2, (234, 416)),  # portrait camera
        ((416, 416), 16 / 9, 64, (448, 252)),  # a whole number of 64-pixel rows, no stride padding
        ((320, 320), 2028 / 1520, 32, (320, 240)),
    ],
    ids=[
        "416-16:9",
        "416-4:3",
        "640-16:9",
        "wide-input-16:9",
        "wide-input-4:3",
        "portrait",
        "align-64",
        "hq",
    ],
)
def test_known_sizes(
    detector_input: tuple[int, int], aspect: float, alignment_px: int, expected: tuple[int, int]
) -> None:
    size = lores_size_for(detector_input, aspect, alignment_px=alignment_px)
    assert size == expected
    assert letterbox_scale(size, detector_input) <= 1.0


def test_exact_detector_size_needs_no_resize() -> None:
    # Letterbox copies a frame whose scale is exactly 1 instead of resizing it.
    assert letterbox_scale(lores_size_for((416, 416), 16 / 9), (416, 416)) == 1.0


@given(
    input_width=st.integers(16, 1280),
    input_height=st.integers(16, 1280),
    aspect=st.floats(0.3, 4.0),
    alignment_px=st.sampled_from([2, 16, 32, 64]),
)
def test_smallest_stream_that_is_never_enlarged(
    input_width: int, input_height: int, aspect: float, alignment_px: int
) -> None:
    width, height = lores_size_for((input_width, input_height), aspect, alignment_px=alignment_px)

    assert width % alignment_px == 0
    assert height % 2 == 0
    assert abs(width / aspect - height) <= 1.0 + 1e-9  # the nearest even height
    assert min(input_width / width, input_height / height) <= 1.0  # never upsampled
    # One alignment step narrower, at the exact aspect, would be enlarged along both sides.
    smaller = width - alignment_px
    assert smaller < input_width
    assert smaller / aspect < input_height


@pytest.mark.parametrize(
    ("args", "kwargs", "argument"),
    [
        (((0, 416), 1.5), {}, "detector_input"),
        (((416,), 1.5), {}, "detector_input"),
        (((416, 416), 0.0), {}, "sensor_aspect"),
        (((416, 416), math.inf), {}, "sensor_aspect"),
        (((416, 416), math.nan), {}, "sensor_aspect"),
        (((416, 416), 1.5), {"alignment_px": 3}, "alignment_px"),
        (((416, 416), 1.5), {"alignment_px": 0}, "alignment_px"),
    ],
    ids=[
        "zero-width",
        "one-side",
        "zero-aspect",
        "infinite-aspect",
        "nan-aspect",
        "odd-alignment",
        "zero-alignment",
    ],
)
def test_misuse_names_the_argument(args: tuple[Any, ...], kwargs: dict[str, Any], argument: str) -> None:
    with pytest.raises(ValueError, match=argument):
        lores_size_for(*args, **kwargs)


def test_first_frame_size_leaves_a_file_to_be_read_from_its_start(tmp_path: Path) -> None:
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 10.0, (96, 54))
    for level in range(3):
        writer.write(np.full((54, 96, 3), 40 * level, dtype=np.uint8))
    writer.release()
    with VideoFileSource(path) as source:
        assert first_frame_size(source) == (96, 54)
        assert [frame.index for frame in source] == [0, 1, 2]


def test_first_frame_size_of_a_folder(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "000001.png"), np.zeros((48, 64, 3), dtype=np.uint8))
    with ImageFolderSource(tmp_path, fps=5.0) as source:
        assert first_frame_size(source) == (64, 48)
        assert len(list(source)) == 1
