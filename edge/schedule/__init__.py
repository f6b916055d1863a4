"""Detection scheduling: per frame, run the detector or skip it, so the CPU follows the scene.

Owns the motion gate (`MotionGate`, a small grey frame against a slow background), the adaptive
rule (`AdaptiveScheduler`: walking-speed rate while people are seen, motion-gated idle checks
while nobody is, a CPU budget cap), a fixed-rate reference (`FixedRateScheduler`) and the events
of a skipped frame (`skipped_events`). Must NOT detect, track or count itself, read settings,
keep frames (only a small blurred grey background) or touch disk or network; it depends on
OpenCV, numpy and `edge.records` only. Times are media seconds from the frames.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from edge.records import CountEvents, ZoneOccupancy
from edge.schedule.gate import Motion, MotionGate, Rectangle, region_around
from edge.schedule.scheduler import (
    AdaptiveScheduler,
    FixedRateScheduler,
    ScheduleStats,
    detection_interval_s,
    step_for_iou,
)

if TYPE_CHECKING:
    from edge.records import Detections, Frame, TrackedFrame

__all__ = [
    "AdaptiveScheduler",
    "DetectionScheduler",
    "FixedRateScheduler",
    "Motion",
    "MotionGate",
    "Rectangle",
    "ScheduleStats",
    "detection_interval_s",
    "region_around",
    "skipped_events",
    "step_for_iou",
]


class DetectionScheduler(Protocol):
    """Decides per frame whether the detector runs; learns from what was detected."""

    @property
    def stats(self) -> ScheduleStats:
        """Frames decided on and detected so far."""
        ...

    def decide(self, frame: Frame) -> bool:
        """True to detect this frame, False to skip it; call once per frame, in time order."""
        ...

    def observe(self, tracked: TrackedFrame, detections: Detections | None = None) -> None:
        """What the tracker reported for a detected frame."""
        ...

    def observe_inference(self, inference_ms: float) -> None:
        """How long one inference took, wall-clock milliseconds."""
        ...


def skipped_events(frame_index: int, timestamp_s: float, previous: CountEvents | None) -> CountEvents:
    """The events of a skipped frame: no crossings or visits, the zone occupancy last counted.

    Carrying the occupancy forward keeps time-weighted occupancy right (`CountTotals` weighs each
    frame's occupancy until the next frame), and the frame still counts as observed time.
    """
    occupancy = () if previous is None else previous.occupancy
    return CountEvents(
        frame_index=frame_index,
        timestamp_s=timestamp_s,
        crossings=(),
        occupancy=tuple(ZoneOccupancy(sample.zone_id, timestamp_s, sample.people) for sample in occupancy),
        visits=(),
    )
