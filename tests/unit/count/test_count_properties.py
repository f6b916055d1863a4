"""Invariants of line counting over random trajectories (Hypothesis)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from hypothesis import assume, given
from hypothesis import strategies as st

from edge.count import segments_intersect, signed_distance
from edge.records import LineSpec, Point
from tests.unit.count.count_walks import Predicted, Step, count_walks, in_out, line

unit = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
points = st.tuples(unit, unit)
hysteresis_values = st.sampled_from([0.0, 0.005, 0.01, 0.03])


@st.composite
def segments(draw: st.DrawFn) -> LineSpec:
    """Any segment inside the image that is not degenerate."""
    a, b = draw(points), draw(points)
    assume(abs(a[0] - b[0]) + abs(a[1] - b[1]) > 1e-3)
    return line(a, b)


@st.composite
def spanning_lines(draw: st.DrawFn) -> LineSpec:
    """A line whose segment reaches well past the image on both sides, in either direction.

    Every trajectory inside the image that crosses the infinite line then crosses the segment.
    """
    start, end = draw(st.floats(0.2, 0.8)), draw(st.floats(0.2, 0.8))
    a, b = ((-0.5, start), (1.5, end)) if draw(st.booleans()) else ((start, -0.5), (end, 1.5))
    return line(b, a) if draw(st.booleans()) else line(a, b)


@st.composite
def trajectories(draw: st.DrawFn, spec: LineSpec) -> list[Point]:
    """Observed foot points, many of them close to the line to exercise the band."""
    near = st.tuples(unit, st.floats(-0.04, 0.04)).map(lambda tv: _near_line(spec, *tv))
    return draw(st.lists(st.one_of(points, near), min_size=1, max_size=25))


def _near_line(spec: LineSpec, t: float, offset: float) -> Point:
    (ax, ay), (bx, by) = spec.a, spec.b
    length = ((bx - ax) ** 2 + (by - ay) ** 2) ** 0.5
    x = ax + t * (bx - ax) - offset * (by - ay) / length
    y = ay + t * (by - ay) + offset * (bx - ax) / length
    return (min(1.0, max(0.0, x)), min(1.0, max(0.0, y)))


def _count(spec: LineSpec, steps: Sequence[Step], hysteresis: float) -> tuple[int, int]:
    return in_out(count_walks([spec], {1: list(steps)}, options={"hysteresis": hysteresis}))


def _sign(value: float) -> int:
    return (value > 0.0) - (value < 0.0)


@given(data=st.data(), spec=segments(), hysteresis=hysteresis_values)
def test_reversing_the_line_swaps_in_and_out(data: st.DataObject, spec: LineSpec, hysteresis: float) -> None:
    path = data.draw(trajectories(spec))
    reversed_spec = line(spec.b, spec.a)
    forward = _count(spec, path, hysteresis)
    backward = _count(reversed_spec, path, hysteresis)
    assert backward == (forward[1], forward[0])


@given(data=st.data(), spec=spanning_lines(), hysteresis=hysteresis_values)
def test_net_count_is_net_side_change(data: st.DataObject, spec: LineSpec, hysteresis: float) -> None:
    """in - out equals the change between the first and the final committed side."""
    path = data.draw(trajectories(spec))
    distances = [signed_distance(spec.a, spec.b, point) for point in path]
    committed = [_sign(distances[0])] + [_sign(d) for d in distances if abs(d) > hysteresis]
    committed = [side for side in committed if side != 0]
    if committed and _sign(distances[-1]) == -committed[-1]:
        committed.append(_sign(distances[-1]))  # ended inside the band after crossing: settled
    expected = (committed[-1] - committed[0]) // 2 if committed else 0
    count_in, count_out = _count(spec, path, hysteresis)
    assert count_in - count_out == expected


@given(
    data=st.data(),
    spec=segments(),
    shift=st.tuples(st.floats(1.1, 3.0), st.floats(-3.0, 3.0)),
    swap_axes=st.booleans(),
)
def test_trajectory_far_from_the_segment_counts_nothing(
    data: st.DataObject, spec: LineSpec, shift: tuple[float, float], swap_axes: bool
) -> None:
    dx, dy = (shift[1], shift[0]) if swap_axes else shift
    path = [(x + dx, y + dy) for x, y in data.draw(trajectories(spec))]
    assert _count(spec, path, 0.01) == (0, 0)


@given(
    data=st.data(),
    spec=segments(),
    hysteresis=hysteresis_values,
    predicted_mask=st.lists(st.booleans(), min_size=25, max_size=25),
)
def test_counts_never_exceed_segment_intersections(
    data: st.DataObject, spec: LineSpec, hysteresis: float, predicted_mask: list[bool]
) -> None:
    path = data.draw(trajectories(spec))
    steps: list[Step] = [
        Predicted(*p) if hidden else p for p, hidden in zip(path, predicted_mask, strict=False)
    ]
    observed = [p for p, hidden in zip(path, predicted_mask, strict=False) if not hidden]
    intersections = sum(segments_intersect(p, q, spec.a, spec.b) for p, q in itertools.pairwise(observed))
    count_in, count_out = _count(spec, steps, hysteresis)
    assert count_in + count_out <= intersections


@given(
    data=st.data(),
    spec=segments(),
    hysteresis=hysteresis_values,
    insert_at=st.lists(st.integers(0, 25), max_size=6),
    guesses=st.lists(points, min_size=6, max_size=6),
)
def test_predicted_positions_do_not_change_counts(
    data: st.DataObject, spec: LineSpec, hysteresis: float, insert_at: list[int], guesses: list[Point]
) -> None:
    path = data.draw(trajectories(spec))
    with_predictions: list[Step] = list(path)
    for index, guess in zip(insert_at, guesses, strict=False):
        with_predictions.insert(min(index, len(with_predictions) - 1), Predicted(*guess))
    assert _count(spec, with_predictions, hysteresis) == _count(spec, path, hysteresis)


@given(data=st.data(), spec=spanning_lines())
def test_zero_hysteresis_is_the_plain_rule(data: st.DataObject, spec: LineSpec) -> None:
    """With no band the counter reproduces the ground-truth rule: every sign change counts."""
    path = data.draw(trajectories(spec))
    sides = [_sign(signed_distance(spec.a, spec.b, point)) for point in path]
    assume(0 not in sides)
    plain_in = sum(1 for s, t in itertools.pairwise(sides) if s < 0 < t)
    plain_out = sum(1 for s, t in itertools.pairwise(sides) if s > 0 > t)
    assert _count(spec, path, 0.0) == (plain_in, plain_out)
