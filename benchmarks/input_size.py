"""Input size per site: recall by person height, and what smaller inputs and a crop cost or save.

Part 1, recall by height (the measurement behind `edge.detect.site.MIN_PERSON_PX`): YOLOX-Nano
at square inputs 160-640 on every clip with MOT boxes. A truth box is found if a detection with
score >= 0.5 matches it (Hungarian, IoU >= 0.5). Recall is binned by the person's height in
model-input pixels, for people that overlap no other person by more than 10 % and do not touch
the frame edge (so occlusion does not hide the effect of size), relative to those found at 416 or
640 ("detectable"). Pooled over the sizes 160-416.

Part 2, per clip and variant: 416 full frame (the baseline), 320 full frame, the size chosen by
`edge.detect.site.plan_site` for the full frame, and the chosen region-of-interest crop with its
own size. Person heights for the plan come from the baseline's detections on 30 sample frames.
Reports bare-model frames/s relative to 416 (same threads, alternating rounds, best of each),
line-count accuracy (1 - sum|error| / sum(truth)), and MOTA / IDF1 of our tracker against all MOT
boxes and against the boxes whose foot point lies in the crop (people outside a crop are never
seen, which full-frame MOTA counts as misses).

    python -m benchmarks.input_size [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import motmetrics
import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

from benchmarks.accuracy import iou_distances, mot_metrics
from benchmarks.clips import (
    CACHE,
    CLIPS,
    Clip,
    detections,
    load_ground_truth,
    machine_line,
    model_file,
    truth_crossings,
    write_section,
)
from edge.aggregate import CountTotals
from edge.config import Settings
from edge.detect import OnnxDetector
from edge.detect.crop import Crop, CroppedDetector
from edge.detect.onnx import default_threads
from edge.detect.resize import resize_model
from edge.detect.site import SAMPLE_SCORE, person_heights, plan_site
from edge.pipeline import build_counter, build_tracker
from edge.records import Detections
from edge.sources import open_source

RECALL_SIZES = (160, 192, 224, 256, 320, 416, 512, 640)
"""Square inputs the recall is measured at, pixels; 512 and 640 define 'detectable'."""
POOLED_SIZES = (160, 192, 224, 256, 320, 416)
"""Sizes whose recall is pooled into the height table (the candidates for a smaller input)."""
HEIGHT_EDGES = (0, 12, 16, 20, 24, 28, 32, 40, 48, 64, 96)
"""Bin edges of person height in model-input pixels."""
MATCH_IOU = 0.5
"""A detection finds a truth box at this IoU or more."""
FREE_OVERLAP = 0.1
"""A truth box is unoccluded if no other box covers more than this fraction of it."""
SAMPLE_FRAMES = 30
"""Frames of each clip whose detections give the person heights of the site plan."""
FPS_FRAMES = 40
"""Frames of each clip timed per variant and round."""
ROUNDS = 5
"""Alternating timing rounds (order rotated each round); the best of each variant counts."""

PersonBox = tuple[float, float, float, float]


@dataclass(frozen=True, slots=True)
class Variant:
    name: str
    width: int
    height: int
    crop: Crop


@dataclass(frozen=True, slots=True)
class VariantResult:
    clip: str
    variant: str
    input_size: str
    crop_area: float
    fps_ratio: float
    count_accuracy: float
    mota: float
    idf1: float
    mota_roi: float
    idf1_roi: float
    count_error: int
    count_truth: int


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    recall = recall_by_height()
    rows: list[VariantResult] = []
    plans: dict[str, list[dict[str, Any]]] = {}
    for clip in CLIPS:
        variants = clip_variants(clip)
        plans[clip.name] = [asdict(v) for v in variants]
        ratios = fps_ratios(clip, variants)
        rows += [evaluate_variant(clip, variant, ratios[variant.name]) for variant in variants]
    result = {
        "machine": machine_line(),
        "threads": default_threads(),
        "recall": recall,
        "variants": plans,
        "results": [asdict(row) for row in rows],
        "overall": overall(rows),
    }
    markdown = to_markdown(result)
    write_section("input_size", markdown)
    print(json.dumps(result) if args.json else markdown)
    return 0


def sized_model(width: int, height: int) -> Path:
    """The default model patched to `width` x `height` (cached; 416 x 416 is the model itself)."""
    source = model_file()
    if (width, height) == (416, 416):
        return source
    target = CACHE / "models" / f"{source.stem}-{width}x{height}.onnx"
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        resize_model(source, target, width, height)
    return target


def recall_by_height() -> dict[str, Any]:
    """Per size: matched flags and model-pixel heights of unoccluded truth boxes; pooled table."""
    found: dict[tuple[str, int], tuple[npt.NDArray[np.bool_], npt.NDArray[np.float64], npt.NDArray[np.bool_]]]
    found = {}
    for clip in CLIPS:
        truth = _truth_by_frame(clip)
        for size in RECALL_SIZES:
            found[clip.name, size] = _matches(clip, truth, size)
    per_clip = {
        clip.name: {str(size): round(float(found[clip.name, size][0].mean()), 3) for size in RECALL_SIZES}
        for clip in CLIPS
    }
    hits, totals = np.zeros(len(HEIGHT_EDGES)), np.zeros(len(HEIGHT_EDGES))
    for clip in CLIPS:
        detectable = found[clip.name, 416][0] | found[clip.name, 640][0]
        for size in POOLED_SIZES:
            matched, heights, free = found[clip.name, size]
            keep = detectable & free
            bins = np.digitize(heights[keep], HEIGHT_EDGES) - 1
            np.add.at(totals, bins, 1)
            np.add.at(hits, bins, matched[keep])
    table = [
        {"from_px": HEIGHT_EDGES[i], "recall": round(float(hits[i] / totals[i]), 3), "people": int(totals[i])}
        for i in range(len(HEIGHT_EDGES))
        if totals[i] > 0
    ]
    return {"per_clip_all_people": per_clip, "by_height_unoccluded": table}


def _truth_by_frame(clip: Clip) -> dict[int, npt.NDArray[np.float64]]:
    grouped: dict[int, list[PersonBox]] = {}
    for truth in load_ground_truth(clip):
        grouped.setdefault(truth.frame_index, []).append(truth.box)
    return {frame: np.asarray(boxes, dtype=np.float64) for frame, boxes in grouped.items()}


def _matches(
    clip: Clip, truth: dict[int, npt.NDArray[np.float64]], size: int
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Per truth box: found at `size`, height in model pixels, unoccluded and inside the frame."""
    scale = min(size / clip.width, size / clip.height)
    matched, heights, free = [], [], []
    for item in detections(clip, model=sized_model(size, size)):
        people = truth.get(item.frame_index)
        if people is None:
            continue
        boxes = item.boxes[item.scores >= SAMPLE_SCORE].astype(np.float64)
        hit = np.zeros(len(people), dtype=bool)
        if len(boxes):
            distance = np.nan_to_num(
                iou_distances(list(map(tuple, people)), list(map(tuple, boxes))), nan=1.0
            )
            rows, cols = linear_sum_assignment(distance)
            hit[rows[distance[rows, cols] <= 1.0 - MATCH_IOU]] = True
        matched.append(hit)
        heights.append((people[:, 3] - people[:, 1]) * scale)
        free.append(_unoccluded(people, clip.width, clip.height))
    return np.concatenate(matched), np.concatenate(heights), np.concatenate(free)


def _unoccluded(people: npt.NDArray[np.float64], width: int, height: int) -> npt.NDArray[np.bool_]:
    top_left = np.maximum(people[:, None, :2], people[None, :, :2])
    bottom_right = np.minimum(people[:, None, 2:], people[None, :, 2:])
    overlap = np.clip(bottom_right - top_left, 0.0, None).prod(axis=2)
    np.fill_diagonal(overlap, 0.0)
    area = (people[:, 2:] - people[:, :2]).prod(axis=1)
    inside = (
        (people[:, 0] > 2) & (people[:, 1] > 2) & (people[:, 2] < width - 2) & (people[:, 3] < height - 2)
    )
    result: npt.NDArray[np.bool_] = (overlap.max(axis=1) <= FREE_OVERLAP * area) & inside
    return result


def clip_variants(clip: Clip) -> list[Variant]:
    """Baseline, 320, the plan's full-frame size and the plan's crop for one clip."""
    calibration = clip.load_calibration()
    baseline = detections(clip)
    sample = baseline[:: max(1, len(baseline) // SAMPLE_FRAMES)]
    heights = person_heights(sample, calibration.lines, calibration.zones)
    full = plan_site(calibration.lines, calibration.zones, clip.width, clip.height, heights, crop=False)
    cropped = plan_site(calibration.lines, calibration.zones, clip.width, clip.height, heights)
    return [
        Variant("416 full", 416, 416, Crop()),
        Variant("320 full", 320, 320, Crop()),
        Variant("chosen full", full.input_width, full.input_height, Crop()),
        Variant("chosen + ROI crop", cropped.input_width, cropped.input_height, cropped.crop),
    ]


def fps_ratios(clip: Clip, variants: list[Variant]) -> dict[str, float]:
    """Bare-model frames/s of each variant relative to the first, alternating rounds."""
    with open_source(str(clip.source_path), fps=clip.fps) as source:
        frames = [frame for _, frame in zip(range(FPS_FRAMES), source, strict=False)]
    # Variants with the same input and crop are timed once (a crop that is the full frame).
    same = {
        v.name: next(u.name for u in variants if (u.width, u.height, u.crop) == (v.width, v.height, v.crop))
        for v in variants
    }
    runs: dict[str, tuple[OnnxDetector, list[npt.NDArray[np.float32]]]] = {}
    for variant in variants:
        if same[variant.name] != variant.name:
            continue
        inner = OnnxDetector(sized_model(variant.width, variant.height), threads=default_threads())
        staged = CroppedDetector(inner, variant.crop)
        runs[variant.name] = (inner, [staged.preprocess(frame)[0].copy() for frame in frames])
        inner.infer(runs[variant.name][1][0])  # warm-up: first run allocates
    best = dict.fromkeys(runs, 0.0)
    names = list(runs)
    for round_number in range(ROUNDS):
        for name in names[round_number % len(names) :] + names[: round_number % len(names)]:
            detector, tensors = runs[name]
            started = time.perf_counter()
            for tensor in tensors:
                detector.infer(tensor)
            best[name] = max(best[name], len(tensors) / (time.perf_counter() - started))
    reference = best[variants[0].name]
    return {variant.name: round(best[same[variant.name]] / reference, 2) for variant in variants}


def evaluate_variant(clip: Clip, variant: Variant, fps_ratio: float) -> VariantResult:
    """Our tracker and counter on the variant's detections, against the clip's truth."""
    found = detections(clip, model=sized_model(variant.width, variant.height), crop=variant.crop)
    boxes, error, truth = _track_and_count(clip, found)
    everyone = mot_metrics(clip, "ours", boxes)
    in_crop = (everyone.mota, everyone.idf1) if variant.crop.is_full else _roi_mot(clip, boxes, variant.crop)
    return VariantResult(
        clip.name,
        variant.name,
        f"{variant.width}x{variant.height}",
        round(variant.crop.area, 2),
        fps_ratio,
        round(1.0 - error / truth, 3),
        everyone.mota,
        everyone.idf1,
        in_crop[0],
        in_crop[1],
        error,
        truth,
    )


def _track_and_count(
    clip: Clip, found: list[Detections]
) -> tuple[list[list[tuple[int, PersonBox]]], int, int]:
    """Track boxes per frame, and the line-count error and truth over both directions of all lines."""
    calibration = clip.load_calibration()
    settings = Settings()
    tracker, counter = build_tracker(settings), build_counter(settings, calibration)
    totals = CountTotals([line.line_id for line in calibration.lines], [])
    boxes = []
    for item in found:
        tracked = tracker.update(item)
        boxes.append([(int(track.track_id), track.box) for track in tracked.tracks])
        totals.add(counter.update(tracked))
    totals.add(counter.finish(found[-1].timestamp_s + 1.0 / clip.fps))
    summary = totals.summary()
    error = truth = 0
    for line in calibration.lines:
        truth_in, truth_out = truth_crossings(clip, line)
        ours = summary.line(line.line_id)
        error += abs(ours.in_count - truth_in) + abs(ours.out_count - truth_out)
        truth += truth_in + truth_out
    return boxes, error, truth


def _roi_mot(clip: Clip, boxes: list[list[tuple[int, PersonBox]]], crop: Crop) -> tuple[float, float]:
    """MOTA and IDF1 counting only truth boxes and tracks whose foot point lies in the crop."""
    left, top, right, bottom = crop.pixels(clip.width, clip.height)

    def inside(box: PersonBox) -> bool:
        return left <= (box[0] + box[2]) / 2 <= right and top <= box[3] <= bottom

    truth_by_frame: dict[int, list[tuple[int, PersonBox]]] = {}
    for truth in load_ground_truth(clip):
        if inside(truth.box):
            truth_by_frame.setdefault(truth.frame_index, []).append((truth.person_id, truth.box))
    accumulator = motmetrics.MOTAccumulator(auto_id=True)
    for index, tracks in enumerate(boxes):
        people = truth_by_frame.get(index, [])
        kept = [(tid, box) for tid, box in tracks if inside(box)]
        distances = iou_distances([box for _, box in people], [box for _, box in kept])
        accumulator.update([pid for pid, _ in people], [tid for tid, _ in kept], distances)
    row = motmetrics.metrics.create().compute(accumulator, metrics=["mota", "idf1"], name="roi").iloc[0]
    return round(float(row["mota"]), 3), round(float(row["idf1"]), 3)


def overall(rows: list[VariantResult]) -> dict[str, float]:
    """Count accuracy over all clips per variant (1 - total error / total truth)."""
    names = dict.fromkeys(row.variant for row in rows)
    return {
        name: round(
            1.0
            - sum(r.count_error for r in rows if r.variant == name)
            / sum(r.count_truth for r in rows if r.variant == name),
            3,
        )
        for name in names
    }


def to_markdown(result: dict[str, Any]) -> str:
    recall = result["recall"]
    edges = [f"{row['from_px']}+" for row in recall["by_height_unoccluded"]]
    out = [
        "## Input size per site (`benchmarks/input_size.py`)",
        "",
        f"Measured {result['machine']}; threads {result['threads']}.",
        "",
        "Recall by person height in model-input pixels (YOLOX-Nano, score >= 0.5, IoU >= 0.5; "
        "unoccluded people, relative to those found at 416 or 640; pooled over square inputs "
        f"{', '.join(map(str, POOLED_SIZES))}):",
        "",
        "| height px | " + " | ".join(edges) + " |",
        "|---|" + "---|" * len(edges),
        "| recall | " + " | ".join(f"{row['recall']:.2f}" for row in recall["by_height_unoccluded"]) + " |",
        "| people | " + " | ".join(str(row["people"]) for row in recall["by_height_unoccluded"]) + " |",
        "",
        "Recall of all truth boxes (occluded included) by square input size:",
        "",
        "| clip | " + " | ".join(map(str, RECALL_SIZES)) + " |",
        "|---|" + "---|" * len(RECALL_SIZES),
    ]
    for clip, by_size in recall["per_clip_all_people"].items():
        out.append(f"| {clip} | " + " | ".join(f"{by_size[str(s)]:.2f}" for s in RECALL_SIZES) + " |")
    out += [
        "",
        "Per clip and variant (fps = bare-model frames/s relative to 416 full frame; ROI = only "
        "truth and tracks with the foot in the crop):",
        "",
        "| clip | variant | input | crop area | fps x | count acc. | MOTA | IDF1 | MOTA ROI | IDF1 ROI |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in result["results"]:
        out.append(
            f"| {row['clip']} | {row['variant']} | {row['input_size']} | {row['crop_area']:.2f} | "
            f"{row['fps_ratio']:.2f} | {row['count_accuracy']:.3f} | {row['mota']:.3f} | {row['idf1']:.3f} | "
            f"{row['mota_roi']:.3f} | {row['idf1_roi']:.3f} |"
        )
    out += [
        "",
        "Count accuracy over all clips: " + ", ".join(f"{k} {v:.3f}" for k, v in result["overall"].items()),
    ]
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
