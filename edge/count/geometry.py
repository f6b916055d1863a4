"""Plane geometry for counting: which side of a line a point is on, segment tests, polygons.

All functions take plain ``(x, y)`` tuples in normalised image coordinates (x right, y down) and
are exact about symmetry: swapping a segment's end points negates `side` bit for bit, so a
reversed counting line swaps in and out exactly instead of "almost always". Calibration
validation (`edge.calibration`) reuses the polygon checks.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from edge.records import Point


def _raw_side(a: Point, b: Point, p: Point) -> float:
    return (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0])


def side(a: Point, b: Point, p: Point) -> float:
    """Signed side of ``p`` relative to the directed line ``a -> b``.

    ``s(P) = (Bx-Ax)(Py-Ay) - (By-Ay)(Px-Ax)``: positive on one side, negative on the other,
    0 on the line. With y pointing down, for ``a=(0, .5) -> b=(1, .5)`` points below the line are
    positive. The value is computed from a canonical end point order so that
    ``side(b, a, p) == -side(a, b, p)`` exactly.

    Args:
        a: start of the line.
        b: end of the line.
        p: the point to classify.

    Returns:
        Twice the signed area of triangle ``a, b, p``.
    """
    if b < a:
        return -_raw_side(b, a, p)
    return _raw_side(a, b, p)


def signed_distance(a: Point, b: Point, p: Point) -> float:
    """Perpendicular distance of ``p`` from the line through ``a`` and ``b``, signed like `side`.

    Raises:
        ValueError: if ``a`` and ``b`` are the same point.
    """
    length = math.hypot(b[0] - a[0], b[1] - a[1])
    if length == 0.0:
        raise ValueError(f"a and b must differ, both are {a}")
    return side(a, b, p) / length


def _within_box(a: Point, b: Point, p: Point) -> bool:
    """True if ``p`` lies in the bounding box of segment ``a b`` (used for collinear cases)."""
    return min(a[0], b[0]) <= p[0] <= max(a[0], b[0]) and min(a[1], b[1]) <= p[1] <= max(a[1], b[1])


def _straddles(d1: float, d2: float) -> bool:
    return (d1 > 0.0 > d2) or (d1 < 0.0 < d2)


def segments_intersect(p1: Point, p2: Point, q1: Point, q2: Point) -> bool:
    """True if the closed segments ``p1 p2`` and ``q1 q2`` share at least one point.

    Touching counts (an end point on the other segment, or collinear overlap). The answer does
    not depend on the order of the two segments or of their end points.
    """
    d1 = side(q1, q2, p1)
    d2 = side(q1, q2, p2)
    d3 = side(p1, p2, q1)
    d4 = side(p1, p2, q2)
    if _straddles(d1, d2) and _straddles(d3, d4):
        return True
    return (
        (d1 == 0.0 and _within_box(q1, q2, p1))
        or (d2 == 0.0 and _within_box(q1, q2, p2))
        or (d3 == 0.0 and _within_box(p1, p2, q1))
        or (d4 == 0.0 and _within_box(p1, p2, q2))
    )


def point_segment_distance(p: Point, a: Point, b: Point) -> float:
    """Euclidean distance from ``p`` to the closed segment ``a b``."""
    dx, dy = b[0] - a[0], b[1] - a[1]
    length_sq = dx * dx + dy * dy
    if length_sq == 0.0:
        return math.hypot(p[0] - a[0], p[1] - a[1])
    t = ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / length_sq
    t = min(1.0, max(0.0, t))
    return math.hypot(p[0] - (a[0] + t * dx), p[1] - (a[1] + t * dy))


def point_in_polygon(p: Point, polygon: Sequence[Point]) -> bool:
    """Even-odd rule test of ``p`` against a simple polygon (implicitly closed).

    Points exactly on an edge may fall either way; zones tolerate that with hysteresis.
    """
    x, y = p
    inside = False
    count = len(polygon)
    for i in range(count):
        x1, y1 = polygon[i]
        x2, y2 = polygon[(i + 1) % count]
        if (y1 > y) != (y2 > y):
            x_cross = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
            if x < x_cross:
                inside = not inside
    return inside


def polygon_distance(p: Point, polygon: Sequence[Point]) -> float:
    """Distance from ``p`` to the nearest edge of ``polygon`` (0 on the boundary)."""
    count = len(polygon)
    return min(point_segment_distance(p, polygon[i], polygon[(i + 1) % count]) for i in range(count))


def polygon_area(polygon: Sequence[Point]) -> float:
    """Signed area by the shoelace formula; positive when the vertices run clockwise on screen."""
    count = len(polygon)
    twice_area = 0.0
    for i in range(count):
        x1, y1 = polygon[i]
        x2, y2 = polygon[(i + 1) % count]
        twice_area += x1 * y2 - x2 * y1
    return twice_area / 2.0


def polygon_self_intersection(polygon: Sequence[Point]) -> tuple[int, int] | None:
    """Find two edges of a closed polygon that touch or cross although they are not neighbours.

    Edge ``i`` runs from vertex ``i`` to vertex ``i + 1`` (the last edge closes the polygon).
    Neighbouring edges share a vertex by construction and are only reported when they fold back
    onto each other (collinear overlap). Quadratic, which is fine for hand-drawn zones.

    Returns:
        ``(i, j)`` with ``i < j`` for the first offending pair, or None for a simple polygon.
    """
    count = len(polygon)
    edges = [(polygon[i], polygon[(i + 1) % count]) for i in range(count)]
    for i in range(count):
        for j in range(i + 1, count):
            (a1, a2), (b1, b2) = edges[i], edges[j]
            if j == i + 1 or (i == 0 and j == count - 1):
                if _folds_back(edges[i], edges[j]):
                    return (i, j)
                continue
            if segments_intersect(a1, a2, b1, b2):
                return (i, j)
    return None


def _folds_back(first: tuple[Point, Point], second: tuple[Point, Point]) -> bool:
    """True if two edges sharing a vertex are collinear and overlap beyond that vertex."""
    (a1, a2), (b1, b2) = first, second
    if side(a1, a2, b1) != 0.0 or side(a1, a2, b2) != 0.0:
        return False
    # The outline runs along both edges in the same sense (one ends where the other starts), so
    # they fold back exactly when they point in opposite directions.
    dot = (a2[0] - a1[0]) * (b2[0] - b1[0]) + (a2[1] - a1[1]) * (b2[1] - b1[1])
    return dot < 0.0


def polygon_self_intersects(polygon: Sequence[Point]) -> bool:
    """True if the closed polygon is not simple (see `polygon_self_intersection`)."""
    return polygon_self_intersection(polygon) is not None
