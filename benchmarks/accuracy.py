"""Counting and tracking accuracy on every clip of ../shared/data with ground truth, next to a peer.

For each clip the real model's detections (cached, see clips.py) feed two trackers + counters:
ours (edge.track.ByteTracker + edge.count.SceneCounter with the default settings) and Roboflow
supervision 0.30.9's `ByteTrack` + `LineZone` (the last release with `sv.ByteTrack`; its
`LineZone` is triggered by the foot point, BOTTOM_CENTER, as our counter and the truth are).

Reports (a) MOTA, IDF1 and id switches against the MOT boxes (motmetrics, IoU >= 0.5), (b) line
counts against the truth computed from the gt with the README's rule, per line and overall as
1 - sum|error| / sum(truth), (c) the same for the peer, and the zone visits of the Intel clip.

    python -m benchmarks.accuracy [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import motmetrics
import numpy as np
import numpy.typing as npt
import supervision as sv

from benchmarks.clips import (
    CLIPS,
    VISITS_CLIP,
    VISITS_TRUTH,
    Clip,
    auto_model,
    detections,
    load_ground_truth,
    machine_line,
    model_file,
    truth_crossings,
    write_section,
)
from edge.aggregate import CountTotals
from edge.config import Settings
from edge.pipeline import build_counter, build_tracker
from edge.records import Detections, LineSpec, TrackedFrame

# MOT boxes match a track box when their IoU is at least this (the MOTChallenge convention).
MATCH_IOU = 0.5


@dataclass(frozen=True, slots=True)
class LineResult:
    clip: str
    line: str
    truth_in: int
    truth_out: int
    ours_in: int
    ours_out: int
    peer_in: int
    peer_out: int


@dataclass(frozen=True, slots=True)
class TrackingResult:
    clip: str
    tracker: str
    mota: float
    idf1: float
    id_switches: int
    tracks: int
    truth_ids: int


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--model", type=Path, help="an .onnx file to evaluate instead of the default model")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=FutureWarning)  # sv.ByteTrack warns it is going away
    check_peer_direction()
    lines: list[LineResult] = []
    tracking: list[TrackingResult] = []
    for clip in CLIPS:
        clip_lines, clip_tracking = evaluate(clip, args.model)
        lines += clip_lines
        tracking += clip_tracking
    visits = evaluate_visits(args.model)
    result = {
        "machine": machine_line(),
        "model": (args.model or model_file()).name,
        "count_accuracy": {"ours": accuracy(lines, "ours"), "peer": accuracy(lines, "peer")},
        "lines": [asdict(line) for line in lines],
        "tracking": [asdict(row) for row in tracking],
        "visits": visits,
    }
    markdown = to_markdown(result)
    write_section("accuracy" if args.model is None else f"accuracy-{args.model.stem}", markdown)
    print(json.dumps(result) if args.json else markdown)
    return 0


def evaluate(clip: Clip, model: Path | None = None) -> tuple[list[LineResult], list[TrackingResult]]:
    """Run ours and the peer over one clip's detections (by `model`; None: the default model at
    the default input, the camera's aspect, D-016)."""
    found = detections(clip, model=model or auto_model(clip))
    calibration = clip.load_calibration()
    settings = Settings()
    tracker, counter = build_tracker(settings), build_counter(settings, calibration)
    totals = CountTotals([line.line_id for line in calibration.lines], [])
    ours_frames: list[TrackedFrame] = []
    for item in found:
        tracked = tracker.update(item)
        ours_frames.append(tracked)
        totals.add(counter.update(tracked))
    totals.add(counter.finish(found[-1].timestamp_s + 1.0 / clip.fps))
    summary = totals.summary()
    peer_counts, peer_boxes = run_peer(found, calibration.lines, clip)
    results = []
    for line in calibration.lines:
        truth_in, truth_out = truth_crossings(clip, line)
        ours = summary.line(line.line_id)
        peer_in, peer_out = peer_counts[line.line_id]
        results.append(
            LineResult(
                clip.name, line.line_id, truth_in, truth_out, ours.in_count, ours.out_count, peer_in, peer_out
            )
        )
    ours_boxes = [[(int(t.track_id), t.box) for t in frame.tracks] for frame in ours_frames]
    tracking = [
        mot_metrics(clip, "ours", ours_boxes),
        mot_metrics(clip, "supervision", peer_boxes),
    ]
    return results, tracking


def run_peer(
    found: list[Detections], lines: tuple[LineSpec, ...], clip: Clip
) -> tuple[dict[str, tuple[int, int]], list[list[tuple[int, tuple[float, float, float, float]]]]]:
    """supervision's ByteTrack + one LineZone per line, fed the same detections."""
    tracker = sv.ByteTrack(frame_rate=round(clip.fps))
    zones = {line.line_id: peer_line_zone(line, clip.width, clip.height) for line in lines}
    boxes_per_frame = []
    for item in found:
        tracked = tracker.update_with_detections(to_supervision(item))
        for zone in zones.values():
            zone.trigger(tracked)
        assert tracked.tracker_id is not None
        boxes_per_frame.append(
            [
                (int(i), (float(b[0]), float(b[1]), float(b[2]), float(b[3])))
                for i, b in zip(tracked.tracker_id, tracked.xyxy, strict=True)
            ]
        )
    return {name: (zone.in_count, zone.out_count) for name, zone in zones.items()}, boxes_per_frame


def to_supervision(item: Detections) -> sv.Detections:
    return sv.Detections(
        xyxy=item.boxes.astype(np.float64),
        confidence=item.scores.astype(np.float64),
        class_id=np.zeros(len(item), dtype=int),
    )


def peer_line_zone(line: LineSpec, width: int, height: int) -> sv.LineZone:
    # supervision counts "in" the other way round from our A -> B convention: give it B -> A.
    start = sv.Point(line.b[0] * width, line.b[1] * height)
    end = sv.Point(line.a[0] * width, line.a[1] * height)
    return sv.LineZone(start=start, end=end, triggering_anchors=[sv.Position.BOTTOM_CENTER])


def check_peer_direction() -> None:
    """Prove the B -> A mapping: a person walking down across A=(0,.5) -> B=(1,.5) is `in` for us."""
    zone = peer_line_zone(LineSpec(line_id="probe", a=(0.0, 0.5), b=(1.0, 0.5)), 100, 100)  # type: ignore[arg-type]
    for bottom in range(20, 90, 5):
        person = sv.Detections(
            xyxy=np.array([[40.0, bottom - 20.0, 60.0, float(bottom)]]),
            confidence=np.array([0.9]),
            class_id=np.array([0]),
            tracker_id=np.array([1]),
        )
        zone.trigger(person)
    if (zone.in_count, zone.out_count) != (1, 0):
        raise SystemExit(f"supervision direction mapping is wrong: {zone.in_count} in, {zone.out_count} out")


def mot_metrics(
    clip: Clip, name: str, boxes_per_frame: list[list[tuple[int, tuple[float, float, float, float]]]]
) -> TrackingResult:
    truth_by_frame: dict[int, list[tuple[int, tuple[float, float, float, float]]]] = {}
    for truth in load_ground_truth(clip):
        truth_by_frame.setdefault(truth.frame_index, []).append((truth.person_id, truth.box))
    accumulator = motmetrics.MOTAccumulator(auto_id=True)
    for index, tracks in enumerate(boxes_per_frame):
        people = truth_by_frame.get(index, [])
        distances = iou_distances([box for _, box in people], [box for _, box in tracks])
        accumulator.update([pid for pid, _ in people], [tid for tid, _ in tracks], distances)
    metrics = motmetrics.metrics.create().compute(
        accumulator, metrics=["mota", "idf1", "num_switches", "num_unique_objects"], name=name
    )
    row = metrics.iloc[0]
    track_ids = {tid for tracks in boxes_per_frame for tid, _ in tracks}
    return TrackingResult(
        clip.name,
        name,
        round(float(row["mota"]), 3),
        round(float(row["idf1"]), 3),
        int(row["num_switches"]),
        len(track_ids),
        int(row["num_unique_objects"]),
    )


def iou_distances(
    truth: list[tuple[float, float, float, float]], tracks: list[tuple[float, float, float, float]]
) -> npt.NDArray[np.float64]:
    """1 - IoU, NaN (no match allowed) below MATCH_IOU; motmetrics 1.4's own needs numpy < 2."""
    if not truth or not tracks:
        return np.empty((len(truth), len(tracks)))
    first, second = np.asarray(truth, dtype=np.float64), np.asarray(tracks, dtype=np.float64)
    top_left = np.maximum(first[:, None, :2], second[None, :, :2])
    bottom_right = np.minimum(first[:, None, 2:], second[None, :, 2:])
    overlap = np.clip(bottom_right - top_left, 0.0, None).prod(axis=2)
    union = (first[:, 2:] - first[:, :2]).prod(axis=1)[:, None] + (second[:, 2:] - second[:, :2]).prod(axis=1)
    distance: npt.NDArray[np.float64] = 1.0 - overlap / (union - overlap)
    distance[distance > 1.0 - MATCH_IOU] = np.nan
    return distance


def evaluate_visits(model: Path | None = None) -> dict[str, Any]:
    """The Intel clip: zone visits and exits of 6 people, one at a time (no boxes to compare)."""
    found = detections(VISITS_CLIP, model=model or auto_model(VISITS_CLIP))
    calibration = VISITS_CLIP.load_calibration()
    settings = Settings()
    tracker, counter = build_tracker(settings), build_counter(settings, calibration)
    totals = CountTotals(
        [line.line_id for line in calibration.lines], [zone.zone_id for zone in calibration.zones]
    )
    for item in found:
        totals.add(counter.update(tracker.update(item)))
    totals.add(counter.finish(found[-1].timestamp_s + 1.0 / VISITS_CLIP.fps))
    summary = totals.summary()
    peer_counts, _ = run_peer(found, calibration.lines, VISITS_CLIP)
    exit_line = summary.lines[0]
    return {
        "clip": VISITS_CLIP.name,
        "truth_visits": VISITS_TRUTH,
        "ours_visits": summary.zones[0].visits,
        "ours_dwell_median_s": summary.zones[0].dwell_median_s,
        "truth_exits": VISITS_TRUTH,
        "ours_exits": exit_line.out_count,
        "peer_exits": peer_counts[exit_line.line_id][1],
    }


def accuracy(lines: list[LineResult], who: str) -> float:
    """1 - sum |error| / sum(truth) over both directions of every line."""
    truth = sum(line.truth_in + line.truth_out for line in lines)
    error = sum(
        abs(getattr(line, f"{who}_in") - line.truth_in) + abs(getattr(line, f"{who}_out") - line.truth_out)
        for line in lines
    )
    return round(1.0 - float(error) / truth, 3)


def to_markdown(result: dict[str, Any]) -> str:
    out = [
        "## Accuracy (`benchmarks/accuracy.py`)",
        "",
        f"Measured {result['machine']}, model `{result['model']}`. Same detections for both trackers.",
        "",
        f"Line-count accuracy, 1 - sum|error| / sum(truth): **ours {result['count_accuracy']['ours']:.3f}**, "
        f"supervision 0.30.9 {result['count_accuracy']['peer']:.3f}.",
        "",
        "| clip | line | truth in/out | ours in/out | supervision in/out |",
        "|---|---|---|---|---|",
    ]
    for line in result["lines"]:
        out.append(
            f"| {line['clip']} | {line['line']} | {line['truth_in']}/{line['truth_out']} | "
            f"{line['ours_in']}/{line['ours_out']} | {line['peer_in']}/{line['peer_out']} |"
        )
    out += [
        "",
        "| clip | tracker | MOTA | IDF1 | id switches | track ids / truth ids |",
        "|---|---|---|---|---|---|",
    ]
    for row in result["tracking"]:
        out.append(
            f"| {row['clip']} | {row['tracker']} | {row['mota']:.3f} | {row['idf1']:.3f} | "
            f"{row['id_switches']} | {row['tracks']} / {row['truth_ids']} |"
        )
    visits = result["visits"]
    out += [
        "",
        f"{visits['clip']} (no boxes; 6 people one at a time): zone visits ours {visits['ours_visits']} "
        f"(truth {visits['truth_visits']}, median dwell {visits['ours_dwell_median_s']:.1f} s); "
        f"exits ours {visits['ours_exits']}, supervision {visits['peer_exits']} "
        f"(truth {visits['truth_exits']}).",
    ]
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
