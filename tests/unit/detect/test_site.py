"""Per-site crop and input size: the size rule, crop geometry at frame edges, aspect fitting."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.detect.crop import Crop
from edge.detect.site import (
    MAX_SIDE,
    MIN_PERSON_PX,
    MIN_SIDE,
    SIZE_STEP,
    choose_input_size,
    fit_aspect,
    person_heights,
    plan_site,
    region_of_interest,
)
from edge.records import Detections, LineId, LineSpec, ZoneId, ZoneSpec


def _line(a: tuple[float, float], b: tuple[float, float]) -> LineSpec:
    return LineSpec(LineId("line"), a, b)


@pytest.mark.parametrize(
    ("person_px", "region", "expected"),
    [
        pytest.param(80.0, (768, 576), (384, 288), id="pets-like: half scale, exact multiples"),
        pytest.param(72.0, (768, 576), (448, 320), id="rounds each side up to 32"),
        pytest.param(160.0, (640, 480), (160, 128), id="tall people: small input"),
        pytest.param(400.0, (640, 480), (MIN_SIDE, MIN_SIDE), id="clamped to the smallest side"),
        pytest.param(80.0, (768, 200), (384, 128), id="a band crop keeps its aspect"),
    ],
)
def test_input_size_shows_the_small_person_at_least_min_person_px(
    person_px: float, region: tuple[int, int], expected: tuple[int, int]
) -> None:
    width, height = choose_input_size(person_px, *region)
    assert (width, height) == expected
    scale = min(width / region[0], height / region[1])  # the letterbox scale
    assert person_px * scale >= MIN_PERSON_PX or MIN_SIDE in (width, height)


@given(
    person_px=st.floats(20.0, 600.0),
    region_w=st.integers(64, 2000),
    region_h=st.integers(64, 2000),
)
def test_input_size_is_the_smallest_multiple_of_32_that_is_tall_enough(
    person_px: float, region_w: int, region_h: int
) -> None:
    width, height = choose_input_size(person_px, region_w, region_h)
    assert width % SIZE_STEP == 0
    assert height % SIZE_STEP == 0
    assert MIN_SIDE <= width <= MAX_SIDE
    assert MIN_SIDE <= height <= MAX_SIDE
    scale = MIN_PERSON_PX / person_px
    if max(region_w, region_h) * scale <= MAX_SIDE:
        assert min(width / region_w, height / region_h) >= scale - 1e-9
        # One step smaller on a side that is not clamped would be too small.
        for side, length in ((width, region_w), (height, region_h)):
            if side > MIN_SIDE:
                assert (side - SIZE_STEP) / length < scale


def test_input_size_refuses_non_positive_inputs() -> None:
    with pytest.raises(ValueError, match="person_height_px"):
        choose_input_size(0.0, 640, 480)


def test_region_grows_by_a_person_height_and_twice_that_above() -> None:
    line = _line((0.25, 0.5), (0.75, 0.5))  # y = 240 of 480, x 160..480 of 640
    crop = region_of_interest([line], [], 640, 480, margin_px=50.0)
    assert crop.pixels(640, 480) == (110, 140, 530, 290)


@pytest.mark.parametrize(
    ("line", "expected_px"),
    [
        pytest.param(((0.0, 0.0), (1.0, 0.0)), (0, 0, 640, 50), id="top edge"),
        pytest.param(((0.0, 1.0), (1.0, 1.0)), (0, 380, 640, 480), id="bottom edge"),
        pytest.param(((0.0, 0.2), (0.0, 0.4)), (0, 0, 50, 242), id="left edge"),
        pytest.param(((1.0, 0.5), (1.0, 0.9)), (590, 140, 640, 480), id="right edge"),
    ],
)
def test_region_margins_are_clipped_to_the_frame(
    line: tuple[tuple[float, float], tuple[float, float]], expected_px: tuple[int, int, int, int]
) -> None:
    crop = region_of_interest([_line(*line)], [], 640, 480, margin_px=50.0)
    assert crop.pixels(640, 480) == expected_px


def test_region_without_margin_along_an_edge_keeps_one_pixel() -> None:
    crop = region_of_interest([_line((0.0, 1.0), (1.0, 1.0))], [], 640, 480, margin_px=0.0)
    assert crop.pixels(640, 480) == (0, 479, 640, 480)


def test_region_covers_zones_too() -> None:
    zone = ZoneSpec(ZoneId("till"), ((0.1, 0.1), (0.2, 0.1), (0.2, 0.2)))
    line = _line((0.8, 0.8), (0.9, 0.8))
    crop = region_of_interest([line], [zone], 1000, 1000, margin_px=10.0)
    assert crop.pixels(1000, 1000) == (90, 80, 910, 810)


def test_region_needs_some_geometry() -> None:
    with pytest.raises(ValueError, match="empty"):
        region_of_interest([], [], 640, 480, margin_px=10.0)


@pytest.mark.parametrize(
    ("crop", "message"),
    [
        pytest.param((0.5, 0.0, 0.5, 1.0), "left/right", id="empty width"),
        pytest.param((0.0, 0.6, 1.0, 0.4), "top/bottom", id="upside down"),
        pytest.param((-0.1, 0.0, 1.0, 1.0), "left/right", id="outside"),
    ],
)
def test_crop_rejects_bad_rectangles(crop: tuple[float, float, float, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Crop(*crop)


def test_crop_pixels_round_outwards_and_are_never_empty() -> None:
    assert Crop(0.101, 0.199, 0.5001, 0.6).pixels(100, 100) == (10, 19, 51, 60)
    assert Crop(0.9999, 0.9999, 1.0, 1.0).pixels(100, 100) == (99, 99, 100, 100)


@pytest.mark.parametrize(
    ("crop", "aspect", "expected_px"),
    [
        pytest.param(Crop(0.0, 0.4, 1.0, 0.6), 2.0, (0, 80, 640, 400), id="band grows in height"),
        pytest.param(Crop(0.0, 0.0, 0.2, 0.2), 1.0, (0, 0, 128, 128), id="corner shifted inside"),
        pytest.param(Crop(0.4, 0.0, 0.6, 1.0), 100.0, (0, 0, 640, 480), id="limited by the frame"),
    ],
)
def test_fit_aspect_grows_inside_the_frame(
    crop: Crop, aspect: float, expected_px: tuple[int, int, int, int]
) -> None:
    grown = fit_aspect(crop, aspect, 640, 480)
    assert grown.pixels(640, 480) == expected_px
    assert grown.left <= crop.left
    assert grown.right >= crop.right
    assert grown.top <= crop.top
    assert grown.bottom >= crop.bottom


def test_plan_crops_a_band_and_sizes_the_model_for_it() -> None:
    line = _line((0.0, 0.5), (1.0, 0.5))  # y = 288 of 768 x 576
    heights = [80.0] * 5 + [100.0] * 5  # 10th percentile 80, 90th percentile 100
    plan = plan_site([line], [], 768, 576, heights)
    assert plan.person_height_px == pytest.approx(80.0)
    assert plan.margin_px == pytest.approx(100.0)
    left, top, right, bottom = plan.crop.pixels(768, 576)
    assert (left, right) == (0, 768)
    assert top <= 288 - 2 * 100
    assert bottom >= 288 + 100
    assert (plan.input_width, plan.input_height) == choose_input_size(80.0, 768, 300) == (384, 160)
    scale = min(plan.input_width / (right - left), plan.input_height / (bottom - top))
    assert 80.0 * scale >= MIN_PERSON_PX
    assert math.isclose((right - left) / (bottom - top), plan.input_width / plan.input_height, rel_tol=0.02)


def test_plan_uses_the_full_frame_when_a_crop_would_save_little() -> None:
    lines = [_line((0.5, 0.0), (0.5, 1.0)), _line((0.0, 0.5), (1.0, 0.5))]
    plan = plan_site(lines, [], 768, 576, [80.0, 90.0])
    assert plan.crop.is_full
    assert (plan.input_width, plan.input_height) == choose_input_size(81.0, 768, 576)


def test_plan_needs_heights() -> None:
    with pytest.raises(ValueError, match="heights_px"):
        plan_site([_line((0.0, 0.5), (1.0, 0.5))], [], 768, 576, [])


def test_person_heights_keeps_confident_people_near_lines_and_in_zones() -> None:
    line = _line((0.0, 0.5), (1.0, 0.5))  # y = 50 of 100
    zone = ZoneSpec(ZoneId("corner"), ((0.8, 0.8), (1.0, 0.8), (1.0, 1.0), (0.8, 1.0)))
    boxes = np.array(
        [
            [10, 30, 20, 60],  # foot 10 px below the line, 30 tall: near
            [30, 0, 40, 10],  # foot 40 px above the line, 10 tall: far
            [85, 70, 95, 90],  # foot inside the zone, 20 tall
            [50, 20, 60, 50],  # on the line but a weak score
        ],
        dtype=np.float32,
    )
    scores = np.array([0.9, 0.9, 0.8, 0.2], dtype=np.float32)
    found = Detections(0, 0.0, 100, 100, boxes, scores)
    assert person_heights([found], [line], [zone]) == [30.0, 20.0]
