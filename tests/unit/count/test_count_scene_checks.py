"""SceneCounter argument and frame checks (they lived with the totals tests before the move)."""

from __future__ import annotations

import pytest

from edge.count import SceneCounter
from edge.records import TrackedFrame
from tests.unit.count.count_walks import line, track_at, zone


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param(
            {"lines": [line((0, 0.5), (1, 0.5), "a"), line((0, 0.6), (1, 0.6), "a")]},
            "lines: duplicate id 'a'",
            id="duplicate-line",
        ),
        pytest.param(
            {"zones": [zone([(0, 0), (1, 0), (1, 1)], "z"), zone([(0, 0), (1, 0), (0, 1)], "z")]},
            "zones: duplicate id 'z'",
            id="duplicate-zone",
        ),
        pytest.param({"zones": [zone([(0, 0), (1, 0)], "z")]}, "at least 3 points", id="two-point-zone"),
        pytest.param({"hysteresis": -0.01}, "hysteresis", id="negative-hysteresis"),
        pytest.param({"handover_s": -1.0}, "handover_s", id="negative-handover-time"),
        pytest.param({"handover_distance": float("nan")}, "handover_distance", id="nan-handover-distance"),
    ],
)
def test_scene_counter_rejects_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {"lines": [line((0, 0.5), (1, 0.5))], "zones": [], **kwargs}
    with pytest.raises(ValueError, match=message):
        SceneCounter(**arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("frames", "message"),
    [
        pytest.param(
            [TrackedFrame(0, 1.0, 100, 100, ()), TrackedFrame(1, 0.5, 100, 100, ())],
            "backwards",
            id="time-backwards",
        ),
        pytest.param([TrackedFrame(0, 0.0, 0, 100, ())], "frame size", id="zero-width"),
        pytest.param(
            [TrackedFrame(0, 0.0, 100, 100, (track_at(1, 0.1, 0.1), track_at(1, 0.2, 0.2)))],
            "appears twice",
            id="duplicate-track-id",
        ),
    ],
)
def test_scene_counter_rejects_bad_frames(frames: list[TrackedFrame], message: str) -> None:
    counter = SceneCounter([line((0, 0.5), (1, 0.5))], [])
    *accepted, rejected = frames
    for frame in accepted:
        counter.update(frame)
    with pytest.raises(ValueError, match=message):
        counter.update(rejected)


def test_finish_before_last_frame_is_rejected() -> None:
    counter = SceneCounter([line((0, 0.5), (1, 0.5))], [])
    counter.update(TrackedFrame(0, 2.0, 100, 100, ()))
    with pytest.raises(ValueError, match="backwards"):
        counter.finish(1.0)
