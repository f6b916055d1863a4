"""Line crossing: table tests of the situations where simple counters go wrong."""

from __future__ import annotations

import pytest

from edge.count import CountingLine, LineTrackState, SceneCounter
from edge.records import Direction, LineSpec
from tests.unit.count.count_walks import (
    Predicted,
    Step,
    Walks,
    count_walks,
    frames_from_walks,
    in_out,
    line,
    run_counter,
    straight,
)

HORIZONTAL = line((0.0, 0.5), (1.0, 0.5))
"""Walking down the image is IN, up is OUT."""
VERTICAL = line((0.5, 0.0), (0.5, 1.0))
"""Walking from right to left is IN, left to right is OUT."""
SHORT = line((0.2, 0.5), (0.6, 0.5))
"""A doorway: the segment ends at x = 0.2 and x = 0.6."""
DIAGONAL = line((0.0, 0.0), (1.0, 1.0))
"""s = y - x: moving from above-right of the diagonal to below-left is IN."""

DOWN = straight((0.5, 0.3), (0.5, 0.7), 8)
UP = straight((0.5, 0.7), (0.5, 0.3), 8)


def _jitter(centre: float, amplitude: float, count: int) -> list[Step]:
    return [(0.5, centre + (amplitude if i % 2 else -amplitude)) for i in range(count)]


def _group(size: int) -> dict[int, list[Step]]:
    return {i: straight((0.3 + 0.04 * i, 0.3), (0.3 + 0.04 * i, 0.7), 8) for i in range(size)}


CASES = [
    # (line, walks, options, expected (in, out))
    pytest.param(HORIZONTAL, {1: DOWN}, {}, (1, 0), id="straight-down-in"),
    pytest.param(HORIZONTAL, {1: UP}, {}, (0, 1), id="straight-up-out"),
    pytest.param(VERTICAL, {1: straight((0.8, 0.5), (0.2, 0.5), 6)}, {}, (1, 0), id="right-to-left-in"),
    pytest.param(VERTICAL, {1: straight((0.2, 0.5), (0.8, 0.5), 6)}, {}, (0, 1), id="left-to-right-out"),
    pytest.param(line((1.0, 0.5), (0.0, 0.5)), {1: DOWN}, {}, (0, 1), id="reversed-line-swaps-in-out"),
    pytest.param(HORIZONTAL, {1: DOWN + UP}, {}, (1, 1), id="walk-back-counts-again"),
    pytest.param(
        HORIZONTAL,
        {1: [*straight((0.5, 0.3), (0.5, 0.49), 4), *_jitter(0.5, 0.008, 30), (0.5, 0.3)]},
        {},
        (0, 0),
        id="jitter-on-line-then-back",
    ),
    pytest.param(
        HORIZONTAL,
        {1: [*straight((0.5, 0.3), (0.5, 0.49), 4), *_jitter(0.5, 0.008, 30), (0.5, 0.7)]},
        {},
        (1, 0),
        id="jitter-on-line-then-across",
    ),
    pytest.param(
        HORIZONTAL,
        {1: [*straight((0.5, 0.3), (0.5, 0.49), 4), *_jitter(0.5, 0.009, 31)]},
        {},
        (0, 0),
        id="jitter-on-line-until-end-of-stream",
    ),
    pytest.param(
        HORIZONTAL,
        {1: [*straight((0.5, 0.3), (0.5, 0.49), 4), *_jitter(0.5, 0.008, 30), (0.5, 0.3)]},
        {"hysteresis": 0.0},
        (15, 15),
        id="jitter-without-hysteresis-counts-every-wobble",
    ),
    pytest.param(
        HORIZONTAL,
        {1: [(0.5, 0.3), (0.5, 0.4), None, None, None, (0.5, 0.6), (0.5, 0.7)]},
        {},
        (1, 0),
        id="flicker-track-missing-across-line",
    ),
    pytest.param(
        HORIZONTAL,
        {1: [(0.5, 0.3), (0.5, 0.45), Predicted(0.5, 0.5), Predicted(0.5, 0.55), (0.5, 0.62)]},
        {},
        (1, 0),
        id="flicker-predicted-across-line",
    ),
    pytest.param(
        HORIZONTAL,
        {1: [(0.5, 0.3), (0.5, 0.4), Predicted(0.5, 0.6), Predicted(0.5, 0.7), (0.5, 0.4), (0.5, 0.3)]},
        {},
        (0, 0),
        id="predicted-positions-ignored",
    ),
    pytest.param(HORIZONTAL, {1: [(0.5, 0.1), (0.5, 0.9)]}, {}, (1, 0), id="low-fps-jump-across"),
    pytest.param(
        HORIZONTAL, {1: [(0.5, 0.1), (0.5, 0.9), (0.5, 0.1)]}, {}, (1, 1), id="low-fps-jump-there-and-back"
    ),
    pytest.param(SHORT, {1: [(0.8, 0.3), (0.8, 0.7)]}, {}, (0, 0), id="jump-beside-segment-end"),
    pytest.param(SHORT, {1: [(0.5, 0.3), (0.9, 0.7)]}, {}, (0, 0), id="diagonal-jump-past-segment-end"),
    pytest.param(SHORT, {1: [(0.5, 0.3), (0.7, 0.7)]}, {}, (0, 0), id="jump-crossing-line-beyond-end"),
    pytest.param(
        SHORT,
        {1: [(0.4, 0.3), (0.7, 0.3), (0.7, 0.7), (0.4, 0.7), (0.1, 0.7), (0.1, 0.3), (0.4, 0.3)]},
        {},
        (0, 0),
        id="walk-around-both-ends",
    ),
    pytest.param(
        SHORT,
        {1: [(0.4, 0.3), (0.7, 0.3), (0.7, 0.7), (0.4, 0.7), (0.4, 0.3)]},
        {},
        (0, 1),
        id="around-the-end-then-through",
    ),
    pytest.param(HORIZONTAL, {1: straight((0.5, 0.6), (0.5, 0.9), 6)}, {}, (0, 0), id="born-after-line"),
    pytest.param(HORIZONTAL, {1: straight((0.5, 0.5), (0.5, 0.8), 6)}, {}, (0, 0), id="born-exactly-on-line"),
    pytest.param(
        HORIZONTAL, {1: straight((0.5, 0.495), (0.5, 0.8), 6)}, {}, (1, 0), id="born-in-band-then-across"
    ),
    pytest.param(
        HORIZONTAL, {1: straight((0.5, 0.495), (0.5, 0.2), 6)}, {}, (0, 0), id="born-in-band-walks-away"
    ),
    pytest.param(
        line((0.0, 0.95), (1.0, 0.95)),
        {1: straight((0.5, 1.0), (0.5, 0.6), 8)},
        {},
        (0, 1),
        id="enters-at-bottom-frame-edge-and-crosses",
    ),
    pytest.param(
        line((0.1, 0.5), (0.9, 0.5)),
        {1: straight((0.0, 0.2), (0.0, 0.8), 8)},
        {},
        (0, 0),
        id="walks-along-frame-edge-past-line-end",
    ),
    pytest.param(
        HORIZONTAL,
        {1: straight((0.5, 0.3), (0.5, 0.495), 4), 2: [None] * 5 + straight((0.5, 0.51), (0.5, 0.7), 4)},
        {},
        (1, 0),
        id="id-switch-on-line",
    ),
    pytest.param(
        HORIZONTAL,
        {1: straight((0.5, 0.3), (0.5, 0.495), 4), 2: [None] * 5 + straight((0.5, 0.51), (0.5, 0.7), 4)},
        {"handover_s": 0.0},
        (0, 0),
        id="id-switch-on-line-without-handover-loses-it",
    ),
    pytest.param(
        HORIZONTAL,
        {
            1: [*straight((0.5, 0.3), (0.5, 0.495), 4), Predicted(0.5, 0.52), Predicted(0.5, 0.55)],
            2: [None] * 5 + straight((0.52, 0.51), (0.52, 0.7), 4),
        },
        {},
        (1, 0),
        id="id-switch-while-old-track-predicted",
    ),
    pytest.param(
        HORIZONTAL,
        {1: straight((0.5, 0.3), (0.5, 0.505), 5), 2: [None] * 6 + straight((0.5, 0.515), (0.5, 0.7), 4)},
        {},
        (1, 0),
        id="id-switch-just-after-crossing-counts-once",
    ),
    pytest.param(
        HORIZONTAL,
        {1: straight((0.5, 0.3), (0.5, 0.47), 4), 2: [None] * 5 + straight((0.5, 0.515), (0.5, 0.7), 4)},
        {},
        (1, 0),
        id="id-switch-across-line",
    ),
    pytest.param(
        HORIZONTAL,
        {1: straight((0.5, 0.3), (0.5, 0.495), 4), 2: [None] * 5 + straight((0.8, 0.52), (0.8, 0.7), 4)},
        {},
        (0, 0),
        id="new-person-far-away-inherits-nothing",
    ),
    pytest.param(
        HORIZONTAL,
        {1: straight((0.5, 0.3), (0.5, 0.495), 4), 2: [None] * 25 + straight((0.5, 0.51), (0.5, 0.7), 4)},
        {},
        (0, 0),
        id="new-person-long-after-inherits-nothing",
    ),
    pytest.param(
        HORIZONTAL,
        {1: straight((0.5, 0.3), (0.5, 0.506), 8)},
        {},
        (1, 0),
        id="track-ends-just-past-line",
    ),
    pytest.param(HORIZONTAL, _group(5), {}, (5, 0), id="group-of-5-together"),
    pytest.param(
        HORIZONTAL,
        {i: [None] * i + straight((0.3 + 0.03 * i, 0.7), (0.3 + 0.03 * i, 0.3), 5) for i in range(5)},
        {},
        (0, 5),
        id="group-of-5-staggered",
    ),
    pytest.param(DIAGONAL, {1: straight((0.8, 0.2), (0.2, 0.8), 6)}, {}, (1, 0), id="diagonal-line-in"),
    pytest.param(DIAGONAL, {1: straight((0.2, 0.8), (0.8, 0.2), 6)}, {}, (0, 1), id="diagonal-line-out"),
    pytest.param(
        DIAGONAL, {1: straight((0.2, 0.3), (0.7, 0.8), 6)}, {}, (0, 0), id="walk-parallel-to-diagonal"
    ),
    pytest.param(HORIZONTAL, {1: [(0.5, 0.3), (0.5, 0.7)]}, {"hysteresis": 0.0}, (1, 0), id="plain-rule"),
]


@pytest.mark.parametrize(("spec", "walks", "options", "expected"), CASES)
def test_line_crossings(
    spec: LineSpec, walks: Walks, options: dict[str, float], expected: tuple[int, int]
) -> None:
    assert in_out(count_walks([spec], walks, options=options)) == expected


def test_crossing_event_names_line_direction_and_frame() -> None:
    counter = SceneCounter([line((0.0, 0.5), (1.0, 0.5), "door")], [])
    frames = frames_from_walks({7: [(0.5, 0.3), (0.5, 0.45), (0.5, 0.52), (0.5, 0.6)]}, fps=4.0)
    events = run_counter(counter, frames, fps=4.0)
    crossings = [crossing for item in events for crossing in item.crossings]
    assert [(c.line_id, c.direction, c.frame_index, c.timestamp_s) for c in crossings] == [
        ("door", Direction.IN, 2, 0.5)
    ]


def test_settled_crossing_is_reported_once_handover_window_passed() -> None:
    """A track that ends inside the band after crossing counts when nobody took it over."""
    counter = SceneCounter([HORIZONTAL], [], handover_s=0.5)
    frames = frames_from_walks({1: [(0.5, 0.45), (0.5, 0.505)], 2: [None] * 12 + [(0.9, 0.9)]}, fps=10.0)
    events = run_counter(counter, frames)
    reported = [(item.frame_index, c.direction) for item in events for c in item.crossings]
    # Last observed at frame 1 (t=0.1 s); the window closes after t=0.6 s, i.e. at frame 7.
    assert reported == [(7, Direction.IN)]


@pytest.mark.parametrize(
    ("spec", "hysteresis", "message"),
    [
        pytest.param(line((0.3, 0.3), (0.3, 0.3)), 0.01, "zero length", id="degenerate-line"),
        pytest.param(HORIZONTAL, -0.1, "hysteresis", id="negative-hysteresis"),
        pytest.param(HORIZONTAL, float("nan"), "hysteresis", id="nan-hysteresis"),
    ],
)
def test_counting_line_rejects_bad_arguments(spec: LineSpec, hysteresis: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CountingLine(spec, hysteresis=hysteresis)


def test_state_machine_directly() -> None:
    counting = CountingLine(HORIZONTAL, hysteresis=0.01)
    state = counting.start((0.5, 0.3))
    assert state == LineTrackState(committed=-1)
    state, direction = counting.advance(state, (0.5, 0.3), (0.5, 0.505))
    assert (state, direction) == (LineTrackState(committed=-1, touched=True), None)
    state, direction = counting.advance(state, (0.5, 0.505), (0.5, 0.52))
    assert (state, direction) == (LineTrackState(committed=1), Direction.IN)
