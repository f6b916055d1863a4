"""The pipeline with a detection scheduler on real clips and the real model.

An always-detecting scheduler changes nothing; the adaptive one counts what full rate counts and
infers far fewer frames where people come one at a time.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from edge.aggregate import CountSummary, CountTotals
from edge.calibration import Calibration, load_calibration
from edge.config import Settings
from edge.detect import OnnxDetector
from edge.pipeline import CountingPipeline, build_counter, build_scheduler, build_tracker
from edge.records import CountEvents
from edge.schedule import AdaptiveScheduler, DetectionScheduler, FixedRateScheduler, MotionGate
from edge.sources import open_source

EXAMPLES = Path(__file__).resolve().parents[2] / "calibration" / "examples"
# The Intel clip's first 23 s: empty, one person comes to the table, stands, leaves to the right.
INTEL_FRAMES = 230


def _events(
    detector: OnnxDetector,
    calibration: Calibration,
    source_path: Path,
    scheduler: DetectionScheduler | None,
    frames: int | None = None,
) -> list[CountEvents]:
    settings = Settings()
    pipeline = CountingPipeline(
        detector, build_tracker(settings), build_counter(settings, calibration), None, scheduler
    )
    with open_source(str(source_path)) as source:
        events = list(pipeline.run(itertools.islice(source, frames)))
    return [*events, pipeline.finish(events[-1].timestamp_s + 0.1)]


def _summary(calibration: Calibration, events: list[CountEvents]) -> CountSummary:
    totals = CountTotals(
        [line.line_id for line in calibration.lines], [zone.zone_id for zone in calibration.zones]
    )
    for item in events:
        totals.add(item)
    return totals.summary()


def test_a_scheduler_that_always_detects_reproduces_full_rate_exactly(
    model_path: Path, shared_data: Path
) -> None:
    detector = OnnxDetector(model_path)
    calibration = load_calibration(EXAMPLES / "tud-campus.json")
    clip = shared_data / "TUD-Campus" / "img1"
    plain = _events(detector, calibration, clip, None)
    always = FixedRateScheduler()
    scheduled = _events(detector, calibration, clip, always)
    assert scheduled == plain
    assert always.stats.detections == always.stats.frames == len(plain) - 1
    # The configured schedule (D-018) detects every frame while anyone is seen: people are in
    # view through the whole clip, so it reproduces full rate frame for frame.
    settings = Settings()
    adaptive = build_scheduler(settings, calibration)
    assert isinstance(adaptive, AdaptiveScheduler)
    scheduled_events = _events(detector, calibration, clip, adaptive)
    assert _summary(calibration, scheduled_events).lines == _summary(calibration, plain).lines
    # `run` decides on frame 1 before frame 0's people are known: that one may be skipped.
    assert adaptive.stats.detections >= adaptive.stats.frames - 1
    # One frame at a time (as the service counts) the scheduler is consulted the same way.
    one_by_one = build_scheduler(settings, calibration)
    assert isinstance(one_by_one, AdaptiveScheduler)
    pipeline = CountingPipeline(
        detector, build_tracker(settings), build_counter(settings, calibration), None, one_by_one
    )
    with open_source(str(clip)) as source:
        processed = [pipeline.process(frame) for frame in source]
    processed.append(pipeline.finish(processed[-1].timestamp_s + 0.1))
    assert _summary(calibration, processed).lines == _summary(calibration, plain).lines
    assert one_by_one.stats.detections == one_by_one.stats.frames == len(processed) - 1


def test_adaptive_counts_as_full_rate_with_far_fewer_inferences_on_one_by_one_visits(
    model_path: Path, shared_data: Path
) -> None:
    detector = OnnxDetector(model_path)
    calibration = load_calibration(EXAMPLES / "demo.json")
    clip = shared_data / "Intel-one-by-one-person" / "one-by-one-person-detection.mp4"
    full = _summary(calibration, _events(detector, calibration, clip, None, INTEL_FRAMES))
    scheduler = AdaptiveScheduler(gate=MotionGate())
    events = _events(detector, calibration, clip, scheduler, INTEL_FRAMES)
    adaptive = _summary(calibration, events)
    assert full.line("exit").out_count >= 1  # the person leaves: there is something to count
    assert adaptive.lines == full.lines
    assert adaptive.zone("table").visits == full.zone("table").visits >= 1
    assert scheduler.stats.frames == INTEL_FRAMES == len(events) - 1
    assert scheduler.stats.detected_fraction < 0.5
    # Skipped frames carry the occupancy, so time-weighted occupancy stays close to full rate's.
    full_occupancy, adaptive_occupancy = (
        full.zone("table").mean_occupancy,
        adaptive.zone("table").mean_occupancy,
    )
    assert full_occupancy is not None
    assert adaptive_occupancy is not None
    assert abs(adaptive_occupancy - full_occupancy) < 0.05
