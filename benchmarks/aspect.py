"""The detector input in the camera's aspect at a pixel budget against the square: recall and CPU.

For every clip with MOT boxes and three pixel budgets (320x320, 416x416 and 512x512 pixels), the
square input of that budget (416x416 is the model's own, the old default) against
`edge.detect.sizing.input_size_for` (input_size "auto", README D-016), each model patched with
`edge.pipeline.sized_model` into benchmarks/.cache/models (`auto_model` names the file, so other
benchmarks can run on the same cached detections). Reported, all in one run:

- recall of every truth box (occluded ones too; MOT rows with conf 0 ignored) at IoU >= 0.5 by
  detections of score >= 0.1 / 0.3 / 0.5 (one-to-one, Hungarian), and precision at 0.5;
- ms per inference of the bare model on 1 thread (`TIMED_FRAMES` real frames per input size,
  `ROUNDS` alternating rounds, the best round counts: other load only slows a round down);
- line-count accuracy (1 - sum|error| / sum(truth)) of our tracker and counter on every frame.

    python -m benchmarks.aspect [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

from benchmarks.clips import (
    CACHE,
    CLIPS,
    Clip,
    detections,
    load_ground_truth,
    machine_line,
    patched_model,
    write_section,
)
from benchmarks.input_size import _track_and_count
from edge.config import Settings
from edge.detect import OnnxDetector
from edge.detect.sizing import input_size_for
from edge.records import Detections
from edge.sources import open_source

BUDGETS = (320 * 320, 416 * 416, 512 * 512)
"""Pixel budgets compared, input pixels (the squares 320, 416 and 512)."""
SCORES = (0.1, 0.3, 0.5)
"""Detection score thresholds recall is reported at: the tracker's low score, a middle, its high score."""
MATCH_IOU = 0.5
"""A detection finds a truth box at this IoU or more."""
"""YOLOX-Nano's own input: used as it is, not patched."""
TIMED_FRAMES = 30
"""Frames timed per input size and round."""
ROUNDS = 5
"""Alternating timing rounds (order rotated each round); the best of each size counts."""


@dataclass(frozen=True, slots=True)
class Variant:
    """An input rule at a budget: the square of that many pixels, or the frame's aspect ("auto")."""

    rule: str
    budget: int

    @property
    def name(self) -> str:
        return f"{self.rule} {math.isqrt(self.budget)}²"

    def input_for(self, clip: Clip) -> tuple[int, int]:
        if self.rule == "square":
            side = math.isqrt(self.budget) // 32 * 32
            return side, side
        return input_size_for(clip.width, clip.height, self.budget)


VARIANTS = tuple(Variant(rule, budget) for budget in BUDGETS for rule in ("square", "auto"))


@dataclass(frozen=True, slots=True)
class Row:
    clip: str
    variant: str
    input_size: str
    used: float
    ms: float
    recall: dict[str, float]
    precision: float
    count_accuracy: float
    matched: dict[str, int]
    truth: int
    count_error: int
    count_truth: int
    frames: int
    model: str


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    sizes = {variant.input_for(clip): clip for clip in CLIPS for variant in VARIANTS}
    timings = time_inputs(sizes)
    rows = [evaluate(clip, variant, timings) for clip in CLIPS for variant in VARIANTS]
    tracker = Settings().tracker
    result = {
        "machine": machine_line(),
        "tracker": {"high_score": tracker.high_score, "new_track_score": tracker.new_track_score},
        "rows": [asdict(row) for row in rows],
        "overall": overall(rows),
    }
    markdown = to_markdown(result)
    write_section("aspect", markdown)
    print(json.dumps(result) if args.json else markdown)
    return 0


def time_inputs(sizes: dict[tuple[int, int], Clip]) -> dict[tuple[int, int], float]:
    """Best ms per inference on 1 thread of each input size, on frames of a clip of that shape."""
    runs: dict[tuple[int, int], tuple[OnnxDetector, list[npt.NDArray[np.float32]]]] = {}
    for size, clip in sizes.items():
        detector = OnnxDetector(patched_model(size), threads=1)
        with open_source(str(clip.source_path), fps=clip.fps) as source:
            frames = [frame for _, frame in zip(range(TIMED_FRAMES), source, strict=False)]
        tensors = [detector.preprocess(frame)[0].copy() for frame in frames]
        detector.infer(tensors[0])  # warm-up: the first run allocates
        runs[size] = (detector, tensors)
    best = dict.fromkeys(runs, math.inf)
    order = list(runs)
    for round_number in range(ROUNDS):
        shift = round_number % len(order)
        for size in order[shift:] + order[:shift]:
            detector, tensors = runs[size]
            started = time.perf_counter()
            for tensor in tensors:
                detector.infer(tensor)
            best[size] = min(best[size], (time.perf_counter() - started) * 1000.0 / len(tensors))
    return best


def evaluate(clip: Clip, variant: Variant, timings: dict[tuple[int, int], float]) -> Row:
    """Recall, precision and line counts of one variant on one clip (detections cached per model)."""
    size = variant.input_for(clip)
    model = patched_model(size)
    found = detections(clip, model=model)
    matched, truth, kept = _match(clip, found)
    _, error, count_truth = _track_and_count(clip, found)
    scale = min(size[0] / clip.width, size[1] / clip.height)
    return Row(
        clip=clip.name,
        variant=variant.name,
        input_size=f"{size[0]}x{size[1]}",
        used=round(clip.width * clip.height * scale * scale / (size[0] * size[1]), 3),
        ms=round(timings[size], 1),
        recall={str(score): round(matched[score] / truth, 3) for score in SCORES},
        precision=round(matched[0.5] / max(kept, 1), 3),
        count_accuracy=round(1.0 - error / count_truth, 3),
        matched={str(score): matched[score] for score in SCORES},
        truth=truth,
        count_error=error,
        count_truth=count_truth,
        frames=len(found),
        model=str(model.relative_to(CACHE.parents[1]) if model.is_relative_to(CACHE.parents[1]) else model),
    )


def _match(clip: Clip, found: list[Detections]) -> tuple[dict[float, int], int, int]:
    """Truth boxes found per score threshold, truth boxes in all, detections of score >= 0.5."""
    truth_by_frame: dict[int, list[tuple[float, float, float, float]]] = {}
    for truth in load_ground_truth(clip):
        truth_by_frame.setdefault(truth.frame_index, []).append(truth.box)
    matched = dict.fromkeys(SCORES, 0)
    kept = 0
    for item in found:
        people = np.asarray(truth_by_frame.get(item.frame_index, []), dtype=np.float64).reshape(-1, 4)
        kept += int((item.scores >= 0.5).sum())
        for score in SCORES:
            boxes = item.boxes[item.scores >= score].astype(np.float64)
            if len(people) and len(boxes):
                overlap = _iou(people, boxes)
                rows, cols = linear_sum_assignment(-overlap)
                matched[score] += int((overlap[rows, cols] >= MATCH_IOU).sum())
    return matched, sum(len(boxes) for boxes in truth_by_frame.values()), kept


def _iou(first: npt.NDArray[np.float64], second: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    top_left = np.maximum(first[:, None, :2], second[None, :, :2])
    bottom_right = np.minimum(first[:, None, 2:], second[None, :, 2:])
    overlap = np.clip(bottom_right - top_left, 0.0, None).prod(axis=2)
    areas = (first[:, 2:] - first[:, :2]).prod(axis=1)[:, None] + (second[:, 2:] - second[:, :2]).prod(axis=1)
    result: npt.NDArray[np.float64] = overlap / (areas - overlap)
    return result


def overall(rows: list[Row]) -> dict[str, dict[str, float]]:
    """Per variant over all clips: pooled recall, frame-weighted ms, count accuracy."""
    out: dict[str, dict[str, float]] = {}
    for variant in VARIANTS:
        mine = [row for row in rows if row.variant == variant.name]
        truth = sum(row.truth for row in mine)
        frames = sum(row.frames for row in mine)
        out[variant.name] = {
            **{
                f"recall@{score}": round(sum(r.matched[str(score)] for r in mine) / truth, 3)
                for score in SCORES
            },
            "ms": round(sum(row.ms * row.frames for row in mine) / frames, 1),
            "count_accuracy": round(
                1.0 - sum(row.count_error for row in mine) / sum(row.count_truth for row in mine), 3
            ),
        }
    return out


def to_markdown(result: dict[str, Any]) -> str:
    scores = " / ".join(f"{score}" for score in SCORES)
    out = [
        "## Input in the camera's aspect vs the square (`benchmarks/aspect.py`)",
        "",
        f"Measured {result['machine']}. YOLOX-Nano patched per input; ms = bare model on 1 thread "
        f"(best of {ROUNDS} alternating rounds of {TIMED_FRAMES} frames); recall of all truth boxes at "
        f"IoU >= {MATCH_IOU} for scores >= {scores}; precision at 0.5; used = share of the input showing "
        "the frame (the rest is letterbox padding); count acc. = our tracker and counter on every frame "
        f"(tracker high score {result['tracker']['high_score']}, new-track score "
        f"{result['tracker']['new_track_score']}).",
        "",
        "Over all clips (recall pooled, ms weighted by frames):",
        "",
        f"| variant | recall {scores} | ms | count acc. |",
        "|---|---|---|---|",
    ]
    for name, figures in result["overall"].items():
        recalls = " / ".join(f"{figures[f'recall@{score}']:.3f}" for score in SCORES)
        out.append(f"| {name} | {recalls} | {figures['ms']:.1f} | {figures['count_accuracy']:.3f} |")
    out += [
        "",
        f"| clip | variant | input | used | ms | recall {scores} | precision | count acc. |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in result["rows"]:
        recalls = " / ".join(f"{row['recall'][str(score)]:.3f}" for score in SCORES)
        out.append(
            f"| {row['clip']} | {row['variant']} | {row['input_size']} | {row['used']:.2f} | "
            f"{row['ms']:.1f} | {recalls} | {row['precision']:.3f} | {row['count_accuracy']:.3f} |"
        )
    models = sorted({row["model"] for row in result["rows"]})
    out += ["", "Models (detections cached per model digest in benchmarks/.cache): " + ", ".join(models)]
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
