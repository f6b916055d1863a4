"""Adaptive detection rate against full rate and against a fixed low rate, with the real model.

For each clip of ../shared/data (and the Intel visits clip) the whole pipeline runs three times
on the real model (no cached detections, so the CPU saved is real):

- ``full``: every frame detected (today's behaviour, the baseline);
- ``adaptive``: the service's default schedule (`build_scheduler` with default settings: every
  frame while anyone is tracked, a motion gate on the lines' region otherwise, README D-018);
- ``fixed``: a fixed rate giving the same number of inferences as ``adaptive`` on that clip, to show
  what simply lowering the frame rate costs at the same CPU.

Per run: fraction of frames inferred, process CPU seconds per minute of video (decode included:
every mode decodes every frame), frames/s, line counts against the truth and MOTA / IDF1. MOTA is
evaluated on every frame with, on a skipped frame, the boxes the tracker last reported (what a
consumer of the tracks sees), and separately on the inferred frames only (the tracker's own
quality). Lines where ``adaptive`` counts differently from ``full`` are listed.

    python -m benchmarks.adaptive [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from dataclasses import asdict, dataclass
from typing import Any

import motmetrics

from benchmarks.accuracy import iou_distances
from benchmarks.clips import (
    CLIPS,
    VISITS_CLIP,
    VISITS_TRUTH,
    Clip,
    load_ground_truth,
    machine_line,
    model_file,
    truth_crossings,
    write_section,
)
from edge.aggregate import CountTotals
from edge.config import Settings
from edge.detect import StagedDetector
from edge.pipeline import CountingPipeline, build_counter, build_detector, build_scheduler, build_tracker
from edge.records import Detections, TrackedFrame
from edge.schedule import AdaptiveScheduler, DetectionScheduler, FixedRateScheduler
from edge.sources import open_source
from edge.track import ByteTracker

Boxes = list[tuple[int, tuple[float, float, float, float]]]
MODES = ("full", "adaptive", "fixed")


@dataclass(frozen=True, slots=True)
class RunResult:
    clip: str
    mode: str
    frames: int
    inferred_fraction: float
    cpu_s_per_video_min: float
    fps: float
    lines: dict[str, tuple[int, int]]
    truth: dict[str, tuple[int, int]]
    zone_visits: int | None
    mota: float | None
    idf1: float | None
    mota_inferred: float | None
    idf1_inferred: float | None


class RecordingTracker:
    """A `ByteTracker` that remembers what it reported per frame index (for MOT metrics)."""

    def __init__(self, tracker: ByteTracker) -> None:
        self._tracker = tracker
        self.reported: dict[int, Boxes] = {}

    def update(self, detections: Detections) -> TrackedFrame:
        tracked = self._tracker.update(detections)
        self.reported[tracked.frame_index] = [(int(t.track_id), t.box) for t in tracked.tracks]
        return tracked


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=FutureWarning)
    runs: list[RunResult] = []
    for clip in (*CLIPS, VISITS_CLIP):
        # The service's detector for this camera: the default input in the clip's aspect (D-016).
        detector = build_detector(Settings(), model_file(), frame_size=(clip.width, clip.height))
        runs += measure_clip(clip, detector)
    result = {
        "machine": machine_line(),
        "model": model_file().name,
        "runs": [asdict(run) for run in runs],
        "count_accuracy": {mode: accuracy([r for r in runs if r.mode == mode]) for mode in MODES},
        "differences": differences(runs),
    }
    markdown = to_markdown(result)
    write_section("adaptive", markdown)
    print(json.dumps(result) if args.json else markdown)
    return 0


def measure_clip(clip: Clip, detector: StagedDetector) -> list[RunResult]:
    """Full, adaptive, then fixed at the adaptive run's detection rate, on one clip."""
    with open_source(str(clip.source_path), fps=clip.fps) as source:
        detector.detect(next(iter(source)))  # warm-up outside the timed runs
    full = run_clip(clip, detector, "full", None)
    adaptive_scheduler = build_scheduler(Settings(), clip.load_calibration())
    assert isinstance(adaptive_scheduler, AdaptiveScheduler)  # the default settings are adaptive
    adaptive = run_clip(clip, detector, "adaptive", adaptive_scheduler)
    fixed_fps = clip.fps * adaptive_scheduler.stats.detected_fraction
    fixed = run_clip(clip, detector, "fixed", FixedRateScheduler(fixed_fps))
    return [full, adaptive, fixed]


def run_clip(
    clip: Clip, detector: StagedDetector, mode: str, scheduler: DetectionScheduler | None
) -> RunResult:
    settings = Settings()
    calibration = clip.load_calibration()
    tracker = RecordingTracker(build_tracker(settings))
    pipeline = CountingPipeline(detector, tracker, build_counter(settings, calibration), None, scheduler)
    totals = CountTotals(
        [line.line_id for line in calibration.lines], [zone.zone_id for zone in calibration.zones]
    )
    frames, end_s = 0, 0.0
    cpu_started, wall_started = time.process_time(), time.perf_counter()
    with open_source(str(clip.source_path), fps=clip.fps) as source:
        for events in pipeline.run(source):
            totals.add(events)
            frames += 1
            end_s = events.timestamp_s + 1.0 / source.fps
    totals.add(pipeline.finish(end_s))
    cpu_s, wall_s = time.process_time() - cpu_started, time.perf_counter() - wall_started
    summary = totals.summary()
    held = held_boxes(tracker.reported, frames)
    tracking: list[float | None] = [None] * 4
    if clip.ground_truth is not None:
        tracking = [*mot(clip, held, range(frames)), *mot(clip, held, sorted(tracker.reported))]
    truth = (
        {str(line.line_id): truth_crossings(clip, line) for line in calibration.lines}
        if clip.ground_truth is not None
        else {str(line.line_id): (0, VISITS_TRUTH) for line in calibration.lines}
    )
    return RunResult(
        clip=clip.name,
        mode=mode,
        frames=frames,
        inferred_fraction=round(len(tracker.reported) / frames, 3),
        cpu_s_per_video_min=round(cpu_s / (end_s / 60.0), 2),
        fps=round(frames / wall_s, 1),
        lines={line.line_id: (line.in_count, line.out_count) for line in summary.lines},
        truth=truth,
        zone_visits=summary.zones[0].visits if summary.zones else None,
        mota=tracking[0],
        idf1=tracking[1],
        mota_inferred=tracking[2],
        idf1_inferred=tracking[3],
    )


def held_boxes(reported: dict[int, Boxes], frames: int) -> list[Boxes]:
    """Boxes per frame; a skipped frame shows what the tracker last reported."""
    held: list[Boxes] = []
    last: Boxes = []
    for index in range(frames):
        last = reported.get(index, last)
        held.append(last)
    return held


def mot(clip: Clip, boxes_per_frame: list[Boxes], frame_indices: Any) -> tuple[float, float]:
    """MOTA and IDF1 over the given frames (IoU >= 0.5, as benchmarks/accuracy.py)."""
    truth_by_frame: dict[int, Boxes] = {}
    for truth in load_ground_truth(clip):
        truth_by_frame.setdefault(truth.frame_index, []).append((truth.person_id, truth.box))
    accumulator = motmetrics.MOTAccumulator(auto_id=True)
    for index in frame_indices:
        people, tracks = truth_by_frame.get(index, []), boxes_per_frame[index]
        distances = iou_distances([box for _, box in people], [box for _, box in tracks])
        accumulator.update([pid for pid, _ in people], [tid for tid, _ in tracks], distances)
    row = motmetrics.metrics.create().compute(accumulator, metrics=["mota", "idf1"], name=clip.name).iloc[0]
    return round(float(row["mota"]), 3), round(float(row["idf1"]), 3)


def accuracy(runs: list[RunResult]) -> float:
    """1 - sum |error| / sum(truth) over both directions of every line of the clips with boxes."""
    truth = error = 0
    for run in runs:
        if run.clip == VISITS_CLIP.name:
            continue
        for line_id, (truth_in, truth_out) in run.truth.items():
            got_in, got_out = run.lines[line_id]
            truth += truth_in + truth_out
            error += abs(got_in - truth_in) + abs(got_out - truth_out)
    return round(1.0 - error / truth, 3)


def differences(runs: list[RunResult]) -> list[str]:
    """Every line (and zone) where the adaptive run counts differently from full rate."""
    by_key = {(run.clip, run.mode): run for run in runs}
    found = []
    for (clip, mode), run in by_key.items():
        if mode != "adaptive":
            continue
        full = by_key[(clip, "full")]
        for line_id, counts in run.lines.items():
            if counts != full.lines[line_id]:
                found.append(f"{clip} {line_id}: full {full.lines[line_id]}, adaptive {counts}")
        if run.zone_visits != full.zone_visits:
            found.append(f"{clip} zone visits: full {full.zone_visits}, adaptive {run.zone_visits}")
    return found


def to_markdown(result: dict[str, Any]) -> str:
    accuracy_by_mode = result["count_accuracy"]
    out = [
        "## Adaptive detection rate (`benchmarks/adaptive.py`)",
        "",
        f"Measured {result['machine']}, model `{result['model']}`, the real model on every run. "
        "`fixed` detects at a constant rate giving as many inferences as `adaptive` on that clip. "
        "CPU is process time (decode included) per minute of video. MOTA/IDF1: every frame, a "
        "skipped frame showing the tracker's last boxes; `(inferred)`: on the inferred frames only.",
        "",
        "Line-count accuracy (4 clips with boxes): "
        + ", ".join(f"{mode} {accuracy_by_mode[mode]:.3f}" for mode in MODES)
        + ".",
        "",
        "| clip | mode | inferred | CPU s / video min | frames/s | lines in/out (truth) | zone visits | "
        "MOTA | IDF1 | MOTA (inferred) | IDF1 (inferred) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in result["runs"]:
        lines = ", ".join(
            f"{line_id} {got[0]}/{got[1]} ({run['truth'][line_id][0]}/{run['truth'][line_id][1]})"
            for line_id, got in run["lines"].items()
        )
        out.append(
            f"| {run['clip']} | {run['mode']} | {run['inferred_fraction']:.2f} | "
            f"{run['cpu_s_per_video_min']:.1f} | {run['fps']:.1f} | {lines} | "
            f"{_figure(run['zone_visits'])} | {_figure(run['mota'])} | {_figure(run['idf1'])} | "
            f"{_figure(run['mota_inferred'])} | {_figure(run['idf1_inferred'])} |"
        )
    diffs = result["differences"]
    out += [
        "",
        "Adaptive vs full rate, lines or zones counted differently: "
        + ("; ".join(diffs) if diffs else "none")
        + ".",
    ]
    return "\n".join(out)


def _figure(value: float | None) -> str:
    if value is None:
        return "-"
    return str(value) if isinstance(value, int) else f"{value:.3f}"


if __name__ == "__main__":
    sys.exit(main())
