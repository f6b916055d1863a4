"""Geometry helpers: sides, segment intersection, polygons."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.count import (
    point_in_polygon,
    polygon_area,
    polygon_self_intersection,
    segments_intersect,
    side,
    signed_distance,
)
from edge.records import Point

SQUARE = ((0.2, 0.2), (0.8, 0.2), (0.8, 0.8), (0.2, 0.8))
NOTCHED = ((0.1, 0.1), (0.9, 0.1), (0.9, 0.9), (0.5, 0.3), (0.1, 0.9))
"""Concave: a notch from the bottom edge up to (0.5, 0.3)."""


@pytest.mark.parametrize(
    ("a", "b", "p", "expected_sign"),
    [
        pytest.param((0.0, 0.5), (1.0, 0.5), (0.5, 0.7), 1, id="horizontal-below-is-positive"),
        pytest.param((0.0, 0.5), (1.0, 0.5), (0.5, 0.3), -1, id="horizontal-above-is-negative"),
        pytest.param((0.5, 0.0), (0.5, 1.0), (0.3, 0.5), 1, id="vertical-left-is-positive"),
        pytest.param((0.5, 0.0), (0.5, 1.0), (0.7, 0.5), -1, id="vertical-right-is-negative"),
        pytest.param((0.0, 0.5), (1.0, 0.5), (3.0, 0.5), 0, id="on-the-line-beyond-segment"),
    ],
)
def test_side_sign_convention(a: Point, b: Point, p: Point, expected_sign: int) -> None:
    value = side(a, b, p)
    assert (value > 0) - (value < 0) == expected_sign


@given(
    st.tuples(st.floats(-10, 10), st.floats(-10, 10)),
    st.tuples(st.floats(-10, 10), st.floats(-10, 10)),
    st.tuples(st.floats(-10, 10), st.floats(-10, 10)),
)
def test_side_is_exactly_antisymmetric(a: Point, b: Point, p: Point) -> None:
    assert side(b, a, p) == -side(a, b, p)


def test_signed_distance_is_perpendicular_distance() -> None:
    assert signed_distance((0.0, 0.0), (2.0, 0.0), (1.0, 0.25)) == pytest.approx(0.25)
    with pytest.raises(ValueError, match="differ"):
        signed_distance((0.1, 0.1), (0.1, 0.1), (0.5, 0.5))


@pytest.mark.parametrize(
    ("p1", "p2", "q1", "q2", "expected"),
    [
        pytest.param((0.0, 0.0), (1.0, 1.0), (0.0, 1.0), (1.0, 0.0), True, id="proper-cross"),
        pytest.param((0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (1.0, 1.0), False, id="parallel"),
        pytest.param((0.0, 0.0), (0.5, 0.5), (0.5, 0.5), (1.0, 0.0), True, id="shared-end-point"),
        pytest.param((0.0, 0.0), (1.0, 0.0), (0.5, 0.0), (0.5, 1.0), True, id="t-junction"),
        pytest.param((0.0, 0.0), (1.0, 0.0), (0.5, 0.1), (0.5, 1.0), False, id="t-junction-short"),
        pytest.param((0.0, 0.0), (1.0, 0.0), (0.5, 0.0), (2.0, 0.0), True, id="collinear-overlap"),
        pytest.param((0.0, 0.0), (1.0, 0.0), (1.5, 0.0), (2.0, 0.0), False, id="collinear-apart"),
        pytest.param((0.0, 0.0), (1.0, 0.0), (2.0, -1.0), (2.0, 1.0), False, id="crosses-line-beyond-end"),
        pytest.param((0.3, 0.3), (0.3, 0.3), (0.0, 0.3), (1.0, 0.3), True, id="point-on-segment"),
    ],
)
def test_segments_intersect(p1: Point, p2: Point, q1: Point, q2: Point, expected: bool) -> None:
    assert segments_intersect(p1, p2, q1, q2) is expected
    # Order of segments and of end points never matters.
    assert segments_intersect(q2, q1, p2, p1) is expected
    assert segments_intersect(p2, p1, q1, q2) is expected


@pytest.mark.parametrize(
    ("point", "polygon", "expected"),
    [
        pytest.param((0.5, 0.5), SQUARE, True, id="square-centre"),
        pytest.param((0.9, 0.5), SQUARE, False, id="square-right-outside"),
        pytest.param((0.5, 0.1), SQUARE, False, id="square-above"),
        pytest.param((0.5, 0.8), NOTCHED, False, id="concave-in-notch"),
        pytest.param((0.12, 0.8), NOTCHED, True, id="concave-left-lobe"),
        pytest.param((0.5, 0.2), NOTCHED, True, id="concave-above-notch"),
    ],
)
def test_point_in_polygon(point: Point, polygon: tuple[Point, ...], expected: bool) -> None:
    assert point_in_polygon(point, polygon) is expected


@pytest.mark.parametrize(
    ("polygon", "expected"),
    [
        pytest.param(SQUARE, None, id="square"),
        pytest.param(NOTCHED, None, id="concave"),
        pytest.param(((0.0, 0.0), (1.0, 0.0), (0.5, 1.0)), None, id="triangle"),
        pytest.param(((0.0, 0.0), (1.0, 1.0), (1.0, 0.0), (0.0, 1.0)), (0, 2), id="bow-tie"),
        pytest.param(((0.0, 0.0), (1.0, 0.0), (0.5, 0.0), (0.5, 1.0)), (0, 1), id="folds-back"),
        pytest.param(
            ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.5, 0.0), (0.0, 1.0)), (0, 2), id="vertex-touches-edge"
        ),
    ],
)
def test_polygon_self_intersection(polygon: tuple[Point, ...], expected: tuple[int, int] | None) -> None:
    assert polygon_self_intersection(polygon) == expected


def test_polygon_area_sign_and_size() -> None:
    assert polygon_area(SQUARE) == pytest.approx(0.36)
    assert polygon_area(tuple(reversed(SQUARE))) == pytest.approx(-0.36)
