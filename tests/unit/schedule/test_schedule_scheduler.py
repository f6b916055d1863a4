"""AdaptiveScheduler rules with frames as the clock: idle checks, motion, walking rate, budget."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.records import (
    CountEvents,
    Detections,
    Frame,
    Track,
    TrackedFrame,
    TrackId,
    ZoneId,
    ZoneOccupancy,
)
from edge.schedule import (
    AdaptiveScheduler,
    FixedRateScheduler,
    MotionGate,
    detection_interval_s,
    skipped_events,
    step_for_iou,
)
from edge.schedule.scheduler import PERSON_HEIGHT_M, WALKING_SPEED_M_S

WIDTH_PX, HEIGHT_PX = 64, 48
BOX_HEIGHT_PX = 100.0
STILL = np.full((HEIGHT_PX, WIDTH_PX, 3), 100, dtype=np.uint8)

# (frame, tracked + detections to report after a detection) -> None
Scene = Callable[[float], tuple[TrackedFrame, Detections]]


def _frame(index: int, fps: float, image: Any = STILL) -> Frame:
    return Frame(index, index / fps, image)


def _person_at(time_s: float, speed_heights_s: float, track_id: int = 1) -> Track:
    left = 100.0 + speed_heights_s * BOX_HEIGHT_PX * time_s
    return Track(
        TrackId(track_id), (left, 200.0, left + 0.41 * BOX_HEIGHT_PX, 200.0 + BOX_HEIGHT_PX), 0.9, True
    )


def _observation(
    time_s: float, tracks: tuple[Track, ...], strong: int | None = None
) -> tuple[TrackedFrame, Detections]:
    count = len(tracks) if strong is None else strong
    tracked = TrackedFrame(0, time_s, 640, 480, tracks)
    boxes = np.array([[0.0, 0.0, 10.0, 10.0]] * count, dtype=np.float32).reshape(-1, 4)
    return tracked, Detections(0, time_s, 640, 480, boxes, np.full(count, 0.9, dtype=np.float32))


def _run(scheduler: AdaptiveScheduler, fps: float, seconds: float, scene: Scene | None = None) -> list[float]:
    """Feed ``seconds`` of frames; report the scene after each detection; the detected times."""
    detected = []
    for index in range(round(seconds * fps)):
        frame = _frame(index, fps)
        if scheduler.decide(frame):
            detected.append(frame.timestamp_s)
            if scene is not None:
                scheduler.observe(*scene(frame.timestamp_s))
    return detected


def _gaps(times: list[float]) -> list[float]:
    return [later - earlier for earlier, later in itertools.pairwise(times)]


def _walker(speed_heights_s: float) -> Scene:
    return lambda time_s: _observation(time_s, (_person_at(time_s, speed_heights_s),))


def test_nobody_and_nothing_moving_detects_once_per_idle_check() -> None:
    scheduler = AdaptiveScheduler(gate=MotionGate(), idle_check_s=1.0)
    detected = _run(scheduler, fps=10.0, seconds=10.0, scene=lambda t: _observation(t, ()))
    assert detected[0] == 0.0
    assert _gaps(detected) == pytest.approx([1.0] * 9)
    assert scheduler.stats.detections == 10
    assert scheduler.stats.frames == 100


def test_motion_with_nobody_seen_detects_at_the_walking_rate() -> None:
    # No gate: every frame counts as moving.
    scheduler = AdaptiveScheduler(gate=None, max_fps=30.0)
    detected = _run(scheduler, fps=30.0, seconds=5.0, scene=lambda t: _observation(t, ()))
    walking = detection_interval_s(WALKING_SPEED_M_S / PERSON_HEIGHT_M, step_for_iou(0.5), 2.0 / 1.7)
    assert all(walking - 1 / 30 <= gap <= walking + 1e-9 for gap in _gaps(detected))


@pytest.mark.parametrize("fps", [7.0, 10.0, 25.0, 30.0], ids=["7fps", "10fps", "25fps", "30fps"])
def test_a_walker_never_moves_more_than_the_step_between_detections(fps: float) -> None:
    speed = 1.2  # box heights per second: a brisk walk
    max_step = step_for_iou(0.5)
    scheduler = AdaptiveScheduler(max_fps=fps)
    detected = _run(scheduler, fps, seconds=6.0, scene=_walker(speed))
    gaps = _gaps(detected)
    # After the first detection the speed is not known yet (walking speed is assumed); from the
    # second on it is measured. A frame period is the finest the scheduler can do.
    assert max(gaps[1:]) * speed <= max(max_step, speed / fps) + 1e-9
    if 2.0 / fps <= detection_interval_s(speed, max_step, 2.0 / 1.7):
        assert len(detected) < 0.7 * 6.0 * fps  # frames come faster than needed: some are skipped
    else:
        assert len(detected) == 6.0 * fps


def test_a_camera_slower_than_the_walking_rate_detects_every_frame() -> None:
    detected = _run(AdaptiveScheduler(), fps=5.0, seconds=4.0, scene=_walker(0.8))
    assert len(detected) == 20


def test_faster_people_get_more_detections() -> None:
    rates = {
        speed: len(_run(AdaptiveScheduler(max_fps=30.0), 30.0, 6.0, _walker(speed)))
        for speed in (0.0, 0.8, 2.0)
    }
    assert rates[0.0] < rates[0.8] < rates[2.0]


def test_someone_standing_still_is_checked_at_least_at_min_fps() -> None:
    scheduler = AdaptiveScheduler(min_fps=2.0, max_fps=30.0)
    detected = _run(scheduler, 30.0, 10.0, _walker(0.0))
    assert max(_gaps(detected)) <= 0.5 + 1e-9
    assert len(detected) < 10.0 * 30.0 / 5  # far fewer than every frame


def test_a_strong_detection_no_track_explains_is_treated_as_a_walker() -> None:
    scheduler = AdaptiveScheduler(gate=MotionGate(), max_fps=30.0)
    detected = _run(scheduler, 30.0, 3.0, lambda t: _observation(t, (), strong=1))
    walking = detection_interval_s(WALKING_SPEED_M_S / PERSON_HEIGHT_M, step_for_iou(0.5), 2.0 / 1.7)
    assert max(_gaps(detected)) <= walking + 1e-9


def test_the_cpu_budget_caps_the_detection_rate() -> None:
    scheduler = AdaptiveScheduler(max_fps=30.0, cpu_budget=0.5)
    detected = []
    for index in range(300):
        frame = _frame(index, 30.0)
        if scheduler.decide(frame):
            detected.append(frame.timestamp_s)
            scheduler.observe(*_walker(3.0)(frame.timestamp_s))  # running: wants ~every frame
            scheduler.observe_inference(100.0)  # 100 ms per inference, half the time at most
    assert min(_gaps(detected)) >= 0.2 - 1e-9
    assert len(detected) <= 10.0 / 0.2 + 1
    assert scheduler.stats.budget_limited > 0
    assert scheduler.inference_ms == pytest.approx(100.0)


def test_max_fps_caps_the_detection_rate() -> None:
    detected = _run(AdaptiveScheduler(max_fps=5.0), 30.0, 4.0, _walker(3.0))
    assert min(_gaps(detected)) >= 0.2 - 1e-9


def test_people_leaving_returns_to_idle_checks() -> None:
    scheduler = AdaptiveScheduler(gate=MotionGate(), idle_check_s=1.0, max_fps=30.0)

    def scene(time_s: float) -> tuple[TrackedFrame, Detections]:
        tracks = (_person_at(time_s, 0.8),) if time_s < 2.0 else ()
        return _observation(time_s, tracks)

    detected = _run(scheduler, 30.0, 8.0, scene)
    busy = [t for t in detected if t < 2.0]
    idle = [t for t in detected if t > 2.5]
    assert len(busy) > 8
    assert _gaps(idle) == pytest.approx([1.0] * (len(idle) - 1), abs=1.5 / 30)


def test_reset_makes_the_next_frame_a_detection() -> None:
    scheduler = AdaptiveScheduler(gate=MotionGate(), idle_check_s=5.0)
    assert scheduler.decide(_frame(0, 10.0))
    assert not scheduler.decide(_frame(1, 10.0))
    scheduler.reset()
    assert scheduler.decide(_frame(2, 10.0))
    assert scheduler.stats.frames == 1


def test_media_time_going_back_starts_over_with_a_detection() -> None:
    scheduler = AdaptiveScheduler(gate=MotionGate(), idle_check_s=5.0)
    assert scheduler.decide(Frame(0, 100.0, STILL))
    assert not scheduler.decide(Frame(1, 100.1, STILL))
    assert scheduler.decide(Frame(0, 0.0, STILL))  # the source restarted its clock


def test_a_bad_inference_time_is_ignored() -> None:
    scheduler = AdaptiveScheduler()
    scheduler.observe_inference(math.nan)
    scheduler.observe_inference(-5.0)
    assert scheduler.inference_ms is None


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"min_fps": 0.0}, "min_fps"),
        ({"max_fps": math.inf}, "max_fps"),
        ({"min_fps": 10.0, "max_fps": 5.0}, "max_fps"),
        ({"idle_check_s": -1.0}, "idle_check_s"),
        ({"cpu_budget": 0.0}, "cpu_budget"),
        ({"cpu_budget": 1.5}, "cpu_budget"),
        ({"max_step": 0.0}, "max_step"),
        ({"walking_speed": math.nan}, "walking_speed"),
        ({"acceleration": 0.0}, "acceleration"),
        ({"person_score": 2.0}, "person_score"),
    ],
    ids=[
        "zero-min-fps",
        "infinite-max-fps",
        "max-below-min",
        "negative-idle",
        "zero-budget",
        "budget-above-one",
        "zero-step",
        "nan-speed",
        "zero-acceleration",
        "score-above-one",
    ],
)
def test_invalid_arguments_are_rejected(arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        AdaptiveScheduler(**arguments)


def test_step_for_iou_keeps_that_iou() -> None:
    step = step_for_iou(0.5, aspect=0.4)
    width = 0.4
    overlap = width - step
    assert overlap / (width + step) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="iou"):
        step_for_iou(1.0)


@given(
    speed=st.floats(0.0, 5.0),
    max_step=st.floats(0.01, 1.0),
    acceleration=st.floats(0.1, 10.0),
)
def test_detection_interval_covers_exactly_the_step(
    speed: float, max_step: float, acceleration: float
) -> None:
    interval = detection_interval_s(speed, max_step, acceleration)
    assert interval > 0.0
    assert speed * interval + acceleration * interval**2 / 2.0 == pytest.approx(max_step, rel=1e-9)


def test_fixed_rate_detects_at_its_rate_and_every_frame_without_one() -> None:
    every = FixedRateScheduler()
    assert all(every.decide(_frame(index, 25.0)) for index in range(50))
    fixed = FixedRateScheduler(fps=5.0)
    detected = [index for index in range(50) if fixed.decide(_frame(index, 25.0))]
    assert detected == list(range(0, 50, 5))
    assert fixed.stats.detected_fraction == pytest.approx(0.2)
    with pytest.raises(ValueError, match="fps"):
        FixedRateScheduler(fps=0.0)


def test_a_skipped_frame_carries_the_occupancy_and_nothing_else() -> None:
    previous = CountEvents(7, 0.7, (), (ZoneOccupancy(ZoneId("till"), 0.7, 2),), ())
    skipped = skipped_events(8, 0.8, previous)
    assert skipped == CountEvents(8, 0.8, (), (ZoneOccupancy(ZoneId("till"), 0.8, 2),), ())
    assert skipped_events(0, 0.0, None) == CountEvents(0, 0.0, (), (), ())
