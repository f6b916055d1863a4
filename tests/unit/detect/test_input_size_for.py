"""input_size_for: the camera's aspect at a pixel budget, checked against the detector's own letterbox."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.detect.letterbox import Letterbox
from edge.detect.sizing import DEFAULT_PIXEL_BUDGET, SIZE_MULTIPLE, input_size_for


def letterbox_scale(frame: tuple[int, int], detector_input: tuple[int, int]) -> float:
    """The scale the detector's letterbox applies to a `frame` (width, height)."""
    width, height = frame
    _, scale = Letterbox(detector_input[1], detector_input[0], buffers=1)(
        np.zeros((height, width, 3), np.uint8)
    )
    return scale


@pytest.mark.parametrize(
    ("frame", "budget", "expected"),
    [
        ((960, 540), DEFAULT_PIXEL_BUDGET, (512, 288)),
        ((1280, 720), DEFAULT_PIXEL_BUDGET, (512, 288)),
        ((768, 432), DEFAULT_PIXEL_BUDGET, (512, 288)),
        ((768, 576), DEFAULT_PIXEL_BUDGET, (480, 352)),
        ((640, 480), DEFAULT_PIXEL_BUDGET, (480, 352)),
        ((480, 640), DEFAULT_PIXEL_BUDGET, (352, 480)),
        ((960, 540), 320 * 320, (416, 224)),
        ((960, 540), 512 * 512, (672, 384)),
        ((768, 576), 512 * 512, (576, 448)),
        ((416, 416), DEFAULT_PIXEL_BUDGET, (416, 416)),
        ((320, 240), DEFAULT_PIXEL_BUDGET, (320, 256)),
        ((20, 10), DEFAULT_PIXEL_BUDGET, (32, 32)),
        ((1920, 200), DEFAULT_PIXEL_BUDGET, (1248, 128)),
    ],
    ids=[
        "adl-16:9",
        "pi-720p",
        "intel-16:9",
        "pets-4:3",
        "tud-4:3",
        "portrait",
        "16:9-at-320-squared",
        "16:9-at-512-squared",
        "4:3-at-512-squared",
        "square-frame-is-the-square",
        "small-frame-not-enlarged",
        "tiny-frame-one-cell",
        "band-crop",
    ],
)
def test_input_takes_the_frame_aspect_within_the_budget(
    frame: tuple[int, int], budget: int, expected: tuple[int, int]
) -> None:
    assert input_size_for(*frame, budget) == expected


def test_a_16_9_frame_is_shown_larger_than_in_the_square_at_fewer_pixels() -> None:
    width, height = input_size_for(960, 540)
    assert width * height < 416 * 416
    assert letterbox_scale((960, 540), (width, height)) > letterbox_scale((960, 540), (416, 416))


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ((0, 480, DEFAULT_PIXEL_BUDGET), "frame size must be positive"),
        ((640, -1, DEFAULT_PIXEL_BUDGET), "frame size must be positive"),
        ((640, 480, 32 * 32 - 1), "pixel_budget must hold a 32x32 input"),
    ],
    ids=["zero-width", "negative-height", "budget-below-one-cell"],
)
def test_bad_arguments_are_refused(arguments: tuple[int, int, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        input_size_for(*arguments)


def test_the_stride_is_the_models() -> None:
    assert input_size_for(960, 540, stride=64) == (512, 320)
    with pytest.raises(ValueError, match="stride must be positive"):
        input_size_for(960, 540, stride=0)


@given(
    frame_width=st.integers(1, 4000),
    frame_height=st.integers(1, 4000),
    budget=st.integers(SIZE_MULTIPLE**2, 1024 * 1024),
)
def test_input_is_whole_cells_within_budget_in_the_frame_aspect(
    frame_width: int, frame_height: int, budget: int
) -> None:
    width, height = input_size_for(frame_width, frame_height, budget)
    stride = SIZE_MULTIPLE
    assert width % stride == 0
    assert height % stride == 0
    assert width * height <= budget
    # Never enlarged beyond the frame rounded up to whole cells.
    assert width <= math.ceil(frame_width / stride) * stride
    assert height <= math.ceil(frame_height / stride) * stride
    scale = min(width / frame_width, height / frame_height, 1.0)
    # At least as large as the best square of the same budget shows it.
    square = math.isqrt(budget) // stride * stride
    assert scale >= min(square / frame_width, square / frame_height, 1.0) - 1e-12
    # Neither side carries a whole cell of padding, so the aspect error is under one cell.
    assert width == stride or width - stride < scale * frame_width
    assert height == stride or height - stride < scale * frame_height
    if min(width, height) > stride:
        aspect_error = (width / height) / (frame_width / frame_height)
        assert (height - stride) / height < aspect_error < width / (width - stride)


@given(frame_width=st.integers(64, 2000), frame_height=st.integers(64, 2000))
def test_no_input_within_the_budget_shows_the_frame_larger(frame_width: int, frame_height: int) -> None:
    budget = 160 * 160
    width, height = input_size_for(frame_width, frame_height, budget)
    chosen = min(width / frame_width, height / frame_height, 1.0)
    sides = range(SIZE_MULTIPLE, budget // SIZE_MULTIPLE + 1, SIZE_MULTIPLE)
    best = max(min(w / frame_width, h / frame_height, 1.0) for w in sides for h in sides if w * h <= budget)
    assert chosen == pytest.approx(best)
