"""When to run the detector: as often as walking people need, never more than the CPU budget allows.

`AdaptiveScheduler` decides per frame whether to detect or skip; the caller tells it what the
tracker made of each detected frame (`observe`) and how long inference took
(`observe_inference`). Three rules, in this order:

1. Ceiling: never detect sooner than ``1 / max_fps`` after the previous detection, nor (with a
   ``cpu_budget``) sooner than the detector's measured inference time divided by the budget: the
   share of the wall time the detector may be busy on its threads (0.5 keeps it idle at least
   half the time, so with 3 inference threads it uses at most 1.5 cores on average).
2. Someone seen (a track reported, or a strong detection not yet tracked): detect again before
   the fastest of them can have moved more than ``max_step`` of their own box height, their speed
   measured from their track (unknown speeds count as walking speed) plus the distance a walker
   gains by accelerating; at least ``min_fps``. ``max_step`` comes from the tracker's IoU gate:
   boxes that moved further overlap too little to be associated (see `step_for_iou`).
3. Nobody seen: detect when the `MotionGate` sees motion (at most at the walking rate) and at the
   latest every ``idle_check_s``, so a person the gate missed is still found.

A frame is detected when waiting for the next one would overshoot the wanted interval, so a 7 fps
camera whose frames are further apart than the interval detects every frame. All times are media
seconds (`Frame.timestamp_s`), so tests drive the clock with the frames they pass in.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from edge.records import Detections, Frame, TrackedFrame, TrackId

if TYPE_CHECKING:
    from edge.schedule.gate import MotionGate

logger = logging.getLogger(__name__)

PERSON_HEIGHT_M = 1.7
"""Typical adult height, metres: speeds are measured in box heights per second."""
WALKING_SPEED_M_S = 1.4
"""Typical walking speed, m/s: the speed assumed for a person whose speed is not known yet."""
WALKING_ACCELERATION_M_S2 = 2.0
"""Upper bound of walking acceleration, m/s^2 (gait initiation reaches ~1.3 m/s in ~1 s): how fast
a standing person can start to move between two detections."""
PERSON_ASPECT = 0.41
"""Width / height of a walking pedestrian's box (MOT17 median ~0.41)."""
ASSOCIATION_IOU = 0.5
"""IoU a box must keep with its previous self to be associated in every stage of `ByteTracker`
(its strictest gate: weak detections, ``second_stage_max_iou_distance`` 0.5)."""
SPEED_WINDOW_S = 0.5
"""Speeds are measured over this much media time: long enough that box jitter averages out."""
_EPSILON_S = 1e-6
_INFERENCE_EMA_WEIGHT = 0.2


def step_for_iou(iou: float, aspect: float = PERSON_ASPECT) -> float:
    """Largest sideways shift, in box heights, after which a box still has ``iou`` with itself.

    A box of width ``aspect * h`` moved sideways by ``d`` has IoU ``(aspect*h - d) / (aspect*h + d)``
    with where it was; sideways is the worst direction for an upright person.
    """
    if not 0.0 < iou < 1.0:
        raise ValueError(f"iou must be between 0 and 1, got {iou!r}")
    return aspect * (1.0 - iou) / (1.0 + iou)


def detection_interval_s(speed: float, max_step: float, acceleration: float) -> float:
    """Longest time in which someone at ``speed`` accelerating at ``acceleration`` covers ``max_step``.

    Solves ``speed * t + acceleration * t^2 / 2 = max_step``; all in box heights and seconds.
    """
    return 2.0 * max_step / (speed + math.sqrt(speed * speed + 2.0 * acceleration * max_step))


@dataclass(frozen=True, slots=True)
class ScheduleStats:
    """What the scheduler decided so far.

    Attributes:
        frames: frames decided on.
        detections: frames it chose to detect.
        budget_limited: frames it would have detected but the CPU budget or ``max_fps`` held back.
    """

    frames: int
    detections: int
    budget_limited: int

    @property
    def detected_fraction(self) -> float:
        return self.detections / self.frames if self.frames else 0.0


@dataclass(frozen=True, slots=True)
class _Sample:
    timestamp_s: float
    centre_x: float
    centre_y: float
    height: float


class AdaptiveScheduler:
    """Decides per frame whether to run the detector (see the module docstring for the rules).

    Example:
        >>> scheduler = AdaptiveScheduler(gate=MotionGate())  # doctest: +SKIP
        >>> if scheduler.decide(frame):  # doctest: +SKIP
        ...     found = detector.detect(frame)
        ...     tracked = tracker.update(found)
        ...     scheduler.observe(tracked, found)

    Args:
        gate: motion gate consulted while nobody is seen; None treats every frame as moving.
        min_fps: lowest detection rate while someone is seen.
        max_fps: highest detection rate.
        idle_check_s: longest time without a detection while nobody is seen and nothing moves.
        cpu_budget: share (0-1] of the wall time the detector may spend inferring; None: no cap.
            Only meaningful when media time runs at wall-clock speed (a live camera): on a file
            processed faster than real time it would make the result depend on the machine.
        max_step: box heights a person may move between detections (default from the IoU gate).
        walking_speed: assumed speed of a person not measured yet, box heights per second.
        acceleration: largest acceleration of a person, box heights per second squared.
        person_score: a detection this strong that no observed track explains is a new person.
    """

    def __init__(
        self,
        *,
        gate: MotionGate | None = None,
        min_fps: float = 2.0,
        max_fps: float = 15.0,
        idle_check_s: float = 1.0,
        cpu_budget: float | None = None,
        max_step: float | None = None,
        walking_speed: float = WALKING_SPEED_M_S / PERSON_HEIGHT_M,
        acceleration: float = WALKING_ACCELERATION_M_S2 / PERSON_HEIGHT_M,
        person_score: float = 0.5,
    ) -> None:
        _check_positive("min_fps", min_fps)
        _check_positive("max_fps", max_fps)
        if max_fps < min_fps:
            raise ValueError(f"max_fps must be >= min_fps ({min_fps!r}), got {max_fps!r}")
        _check_positive("idle_check_s", idle_check_s)
        if cpu_budget is not None and not 0.0 < cpu_budget <= 1.0:
            raise ValueError(f"cpu_budget must be in (0, 1], got {cpu_budget!r}")
        max_step = step_for_iou(ASSOCIATION_IOU) if max_step is None else max_step
        _check_positive("max_step", max_step)
        _check_positive("walking_speed", walking_speed)
        _check_positive("acceleration", acceleration)
        if not 0.0 <= person_score <= 1.0:
            raise ValueError(f"person_score must be between 0 and 1, got {person_score!r}")
        self._gate = gate
        self._longest_s = 1.0 / min_fps
        self._shortest_s = 1.0 / max_fps
        self._idle_check_s = idle_check_s
        self._cpu_budget = cpu_budget
        self._max_step = max_step
        self._walking_speed = walking_speed
        self._acceleration = acceleration
        self._person_score = person_score
        self._walking_interval_s = detection_interval_s(walking_speed, max_step, acceleration)
        self._history: dict[TrackId, deque[_Sample]] = {}
        self.reset()

    @property
    def stats(self) -> ScheduleStats:
        return ScheduleStats(self._frames, self._detections, self._budget_limited)

    @property
    def inference_ms(self) -> float | None:
        """Smoothed inference time reported by `observe_inference`; None before the first."""
        return None if self._inference_s is None else self._inference_s * 1000.0

    def reset(self) -> None:
        """Forget everything seen (after a reconnect): the next frame is detected."""
        self._history.clear()
        self._last_detection_s: float | None = None
        self._last_frame_s: float | None = None
        self._frame_period_s = 0.0
        self._wanted_interval_s: float | None = None  # None: nobody seen
        self._inference_s: float | None = None
        self._frames = self._detections = self._budget_limited = 0
        if self._gate is not None:
            self._gate.reset()

    def decide(self, frame: Frame) -> bool:
        """True to run the detector on this frame, False to skip it (every frame must be passed)."""
        now_s = frame.timestamp_s
        moving = True if self._gate is None else self._gate.update(frame).moving
        self._frames += 1
        if self._last_frame_s is not None:
            self._frame_period_s = max(now_s - self._last_frame_s, 0.0)  # the next gap, as far as known
        self._last_frame_s = now_s
        if self._last_detection_s is None or now_s < self._last_detection_s:  # start, or time restarted
            return self._detect(now_s)
        elapsed_s = now_s - self._last_detection_s
        wanted_s = self._wanted_s(moving)
        # Detect now if waiting for the next frame would overshoot the wanted interval.
        if elapsed_s + self._frame_period_s <= wanted_s + _EPSILON_S:
            return False
        if elapsed_s + _EPSILON_S < self._floor_s():
            self._budget_limited += 1
            return False
        return self._detect(now_s)

    def observe(self, tracked: TrackedFrame, detections: Detections | None = None) -> None:
        """Take in what the tracker reported for a detected frame (and, optionally, the detections)."""
        now_s = tracked.timestamp_s
        alive = {track.track_id for track in tracked.tracks}
        for track_id in [track_id for track_id in self._history if track_id not in alive]:
            del self._history[track_id]
        fastest = -1.0  # below zero: nobody seen
        observed = 0
        for track in tracked.tracks:
            speed = self._walking_speed
            if track.observed:
                observed += 1
                speed = self._measure(track.track_id, now_s, track.box)
            fastest = max(fastest, speed)
        if detections is not None and int((detections.scores >= self._person_score).sum()) > observed:
            fastest = max(fastest, self._walking_speed)  # someone new, speed unknown
        self._wanted_interval_s = (
            None if fastest < 0.0 else detection_interval_s(fastest, self._max_step, self._acceleration)
        )

    def observe_inference(self, inference_ms: float) -> None:
        """Report how long one inference took (wall time, ms), for the CPU budget."""
        if not (math.isfinite(inference_ms) and inference_ms >= 0.0):
            return
        seconds = inference_ms / 1000.0
        if self._inference_s is None:
            self._inference_s = seconds
        else:
            self._inference_s += _INFERENCE_EMA_WEIGHT * (seconds - self._inference_s)

    def _detect(self, now_s: float) -> bool:
        self._last_detection_s = now_s
        self._detections += 1
        return True

    def _wanted_s(self, moving: bool) -> float:
        if self._wanted_interval_s is not None:
            return min(self._wanted_interval_s, self._longest_s)
        return self._walking_interval_s if moving else self._idle_check_s

    def _floor_s(self) -> float:
        if self._cpu_budget is None or self._inference_s is None:
            return self._shortest_s
        budget_s = self._inference_s / self._cpu_budget
        return max(self._shortest_s, budget_s)

    def _measure(self, track_id: TrackId, now_s: float, box: tuple[float, float, float, float]) -> float:
        """Record a track's box; its speed over the last `SPEED_WINDOW_S`, in box heights per second.

        A track seen for the first time moves at walking speed as far as anyone knows.
        """
        left, top, right, bottom = box
        height = max(bottom - top, 1.0)
        sample = _Sample(now_s, (left + right) / 2.0, (top + bottom) / 2.0, height)
        samples = self._history.setdefault(track_id, deque())
        while len(samples) > 1 and now_s - samples[1].timestamp_s >= SPEED_WINDOW_S:
            samples.popleft()
        samples.append(sample)
        first = samples[0]
        elapsed_s = now_s - first.timestamp_s
        if elapsed_s <= 0.0:
            return self._walking_speed
        distance = math.hypot(sample.centre_x - first.centre_x, sample.centre_y - first.centre_y)
        return distance / elapsed_s / height


class FixedRateScheduler:
    """Detects at a fixed rate whatever happens (``fps`` None: every frame), for comparison.

    Args:
        fps: detections per second; None detects every frame.
    """

    def __init__(self, fps: float | None = None) -> None:
        if fps is not None:
            _check_positive("fps", fps)
        self._interval_s = 0.0 if fps is None else 1.0 / fps
        self._last_detection_s: float | None = None
        self._last_frame_s: float | None = None
        self._frames = self._detections = 0

    @property
    def stats(self) -> ScheduleStats:
        return ScheduleStats(self._frames, self._detections, 0)

    def decide(self, frame: Frame) -> bool:
        """True on the first frame, then on the frame nearest to ``1 / fps`` after the last detection."""
        self._frames += 1
        now_s, last_s, previous_s = frame.timestamp_s, self._last_detection_s, self._last_frame_s
        self._last_frame_s = now_s
        half_period_s = 0.0 if previous_s is None else max(now_s - previous_s, 0.0) / 2.0
        if last_s is not None and now_s - last_s + half_period_s + _EPSILON_S < self._interval_s:
            return False
        self._last_detection_s = now_s
        self._detections += 1
        return True

    def observe(self, tracked: TrackedFrame, detections: Detections | None = None) -> None:
        """Ignored: the rate is fixed."""

    def observe_inference(self, inference_ms: float) -> None:
        """Ignored: the rate is fixed."""


def _check_positive(name: str, value: float) -> None:
    if not (math.isfinite(value) and value > 0.0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
