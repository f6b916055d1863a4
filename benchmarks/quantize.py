"""Static INT8 quantisation study: calibration methods x float-kept nodes, sensitivity, speed.

Every variant is compared with the FP32 model on the same frames: recall is the share of FP32
person boxes (score >= 0.5) matched by an INT8 box (score >= 0.5, IoU >= 0.5, one-to-one),
precision the share of INT8 boxes matched by FP32 ones, and the score SNR compares
objectness x person over all anchors. Calibration frames come from the first half of each clip
(every k-th frame: same scene, as a device calibrating on its own camera), evaluation frames from
the second half; a leave-one-clip-out run shows cross-scene calibration. Speed is the bare model
(no pre/post-processing) with the detector's thread count, FP32 and INT8 in alternating rounds.

    python -m benchmarks.quantize [--json]
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnx
from scipy.optimize import linear_sum_assignment

from benchmarks.clips import CLIPS, Clip, machine_line, model_file, write_section
from edge.detect import OnnxDetector
from edge.detect.onnx import default_threads
from edge.detect.quantize import Calibration, QuantizeOptions, quantize_model
from edge.records import Frame, ImageArray
from edge.sources import open_source

# Calibration frames per clip (from its first half) and evaluation frames per clip (second half).
CALIBRATION_PER_CLIP = 8
EVALUATION_PER_CLIP = 25
# Person score both models must reach for a box to count, and the IoU that matches two boxes.
SCORE = 0.5
MATCH_IOU = 0.5
# Contiguous slices of the graph (topological order) for the "only this slice in INT8" sensitivity.
SENSITIVITY_SLICES = 10
# Speed: alternating FP32/INT8 rounds of this many runs each.
SPEED_ROUNDS, SPEED_RUNS = 5, 15

DEFAULT = QuantizeOptions()
NAIVE = QuantizeOptions(float_stem_convs=0, float_head_convs=0, silu_floor=None)
FLOAT_SETS = {
    "naive (nothing)": NAIVE,
    "head (last conv/branch)": replace(NAIVE, float_head_convs=1),
    "stem (first 2 convs)": replace(NAIVE, float_stem_convs=2),
    "stem + head": replace(NAIVE, float_stem_convs=2, float_head_convs=1),
    "stem + head + SiLU floor (default)": DEFAULT,
    "stem 4 + head 2 + SiLU floor": replace(DEFAULT, float_stem_convs=4, float_head_convs=2),
}
METHODS = {
    "minmax": QuantizeOptions(),
    "entropy": QuantizeOptions(calibration=Calibration.ENTROPY),
    "percentile 99.999": QuantizeOptions(calibration=Calibration.PERCENTILE, percentile=99.999),
}


@dataclass(frozen=True, slots=True)
class Agreement:
    """How an INT8 variant agrees with FP32 on one clip's evaluation frames."""

    clip: str
    recall: float
    precision: float
    score_snr_db: float
    fp32_boxes: int


@dataclass(frozen=True, slots=True)
class Variant:
    label: str
    per_clip: tuple[Agreement, ...]

    @property
    def recall(self) -> float:
        return statistics.fmean(a.recall for a in self.per_clip)

    @property
    def precision(self) -> float:
        return statistics.fmean(a.precision for a in self.per_clip)

    @property
    def snr_db(self) -> float:
        return statistics.fmean(a.score_snr_db for a in self.per_clip)


@dataclass(frozen=True, slots=True)
class Split:
    calibration: dict[str, list[ImageArray]]
    evaluation: dict[str, list[ImageArray]]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    started = time.monotonic()
    fp32 = model_file()
    split = load_split()
    reference = {name: heads(fp32, images) for name, images in split.evaluation.items()}
    with tempfile.TemporaryDirectory(prefix="quantize-study-") as work_dir:
        work = Path(work_dir)
        calibration = [image for images in split.calibration.values() for image in images]
        variants = study_variants(fp32, calibration, split, reference, work)
        sensitivity = study_sensitivity(fp32, split, reference, work)
        cross = study_cross_scene(fp32, split, reference, work)
        best = work / "int8.onnx"
        quantize_model(fp32, calibration, best, calibration_cache=work / "minmax.json")
        speed = speed_ratio(fp32, best, split.evaluation[CLIPS[0].name][:4])
    result = {
        "machine": machine_line(),
        "calibration_frames": len(calibration),
        "evaluation_frames": sum(len(images) for images in split.evaluation.values()),
        "variants": [_variant_json(v) for v in variants],
        "sensitivity": [_variant_json(v) for v in sensitivity],
        "cross_scene": [_variant_json(v) for v in cross],
        "speed": speed,
        "elapsed_s": round(time.monotonic() - started, 1),
    }
    markdown = to_markdown(result)
    write_section("quantize", markdown)
    print(json.dumps(result) if args.json else markdown)
    return 0


def load_split() -> Split:
    """Calibration frames from each clip's first half, evaluation frames from its second half."""
    calibration: dict[str, list[ImageArray]] = {}
    evaluation: dict[str, list[ImageArray]] = {}
    for clip in CLIPS:
        images = _images(clip)
        half = len(images) // 2
        calibration[clip.name] = _spread(images[:half], CALIBRATION_PER_CLIP)
        evaluation[clip.name] = _spread(images[half:], EVALUATION_PER_CLIP)
    return Split(calibration, evaluation)


def study_variants(
    fp32: Path, calibration: list[ImageArray], split: Split, reference: dict[str, list[Any]], work: Path
) -> list[Variant]:
    """Min/max with every float-kept set; the other methods with the naive and default sets."""
    variants = []
    for method, method_options in METHODS.items():
        cache = work / f"{method}.json"
        for label, float_options in FLOAT_SETS.items():
            if method != "minmax" and float_options not in (NAIVE, DEFAULT):
                continue
            options = replace(
                float_options, calibration=method_options.calibration, percentile=method_options.percentile
            )
            variants.append(
                _run(f"{method} | {label}", fp32, calibration, options, split, reference, work, cache)
            )
    return variants


def study_sensitivity(fp32: Path, split: Split, reference: dict[str, list[Any]], work: Path) -> list[Variant]:
    """Only one contiguous slice of the graph in INT8 (min/max ranges), the rest in float."""
    nodes = list(onnx.load(str(fp32)).graph.node)
    conv_numbers = np.cumsum([node.op_type == "Conv" for node in nodes])
    variants = []
    for part in np.array_split(np.arange(len(nodes)), SENSITIVITY_SLICES):
        inside = {nodes[i].name for i in part}
        options = replace(NAIVE, extra_float_nodes=frozenset(n.name for n in nodes if n.name not in inside))
        label = f"only convs {conv_numbers[part[0]]}-{conv_numbers[part[-1]]} INT8"
        variants.append(_run(label, fp32, [], options, split, reference, work, work / "minmax.json"))
    return variants


def study_cross_scene(fp32: Path, split: Split, reference: dict[str, list[Any]], work: Path) -> list[Variant]:
    """Default options calibrated on the other clips only (leave one clip out), per held-out clip."""
    variants = []
    for held_out in split.evaluation:
        calibration = [im for name, images in split.calibration.items() if name != held_out for im in images]
        only = Split({}, {held_out: split.evaluation[held_out]})
        variants.append(
            _run(f"calibrated without {held_out}", fp32, calibration, DEFAULT, only, reference, work, None)
        )
    return variants


def _run(
    label: str,
    fp32: Path,
    calibration: list[ImageArray],
    options: QuantizeOptions,
    split: Split,
    reference: dict[str, list[Any]],
    work: Path,
    cache: Path | None,
) -> Variant:
    out = work / "variant.onnx"
    quantize_model(fp32, calibration, out, options=options, calibration_cache=cache)
    per_clip = tuple(
        agreement(name, reference[name], heads(out, images), images)
        for name, images in split.evaluation.items()
    )
    variant = Variant(label, per_clip)
    logging.getLogger(__name__).warning("%s: recall %.3f", label, variant.recall)
    return variant


def heads(model: Path, images: list[ImageArray]) -> list[tuple[npt.NDArray[np.float32], Any]]:
    """Raw head and decoded (boxes, scores) of every image, as the detector computes them."""
    detector = OnnxDetector(model, threads=2)
    found = []
    for number, image in enumerate(images):
        frame = Frame(number, 0.0, image)
        tensor, scale = detector.preprocess(frame)
        head = detector.infer(tensor).copy()
        found.append((head, detector.postprocess(head, scale, frame)))
    return found


def agreement(name: str, reference: list[Any], candidate: list[Any], images: list[ImageArray]) -> Agreement:
    matched = fp32_boxes = int8_boxes = 0
    signal = noise = 0.0
    for (ref_head, ref_found), (head, found) in zip(reference, candidate, strict=True):
        ref_boxes = ref_found.boxes[ref_found.scores >= SCORE]
        boxes = found.boxes[found.scores >= SCORE]
        matched += matches(ref_boxes, boxes)
        fp32_boxes += len(ref_boxes)
        int8_boxes += len(boxes)
        ref_scores, scores = ref_head[:, 4] * ref_head[:, 5], head[:, 4] * head[:, 5]
        signal += float(np.sum(ref_scores.astype(np.float64) ** 2))
        noise += float(np.sum((ref_scores.astype(np.float64) - scores) ** 2))
    snr = 10.0 * np.log10(signal / noise) if noise > 0 else float("inf")
    return Agreement(name, matched / max(fp32_boxes, 1), matched / max(int8_boxes, 1), float(snr), fp32_boxes)


def matches(first: npt.NDArray[np.float32], second: npt.NDArray[np.float32]) -> int:
    """One-to-one matches at IoU >= MATCH_IOU (Hungarian on IoU)."""
    if len(first) == 0 or len(second) == 0:
        return 0
    top_left = np.maximum(first[:, None, :2], second[None, :, :2])
    bottom_right = np.minimum(first[:, None, 2:], second[None, :, 2:])
    overlap = np.clip(bottom_right - top_left, 0.0, None).prod(axis=2)
    areas = (first[:, 2:] - first[:, :2]).prod(axis=1)[:, None] + (second[:, 2:] - second[:, :2]).prod(axis=1)
    iou = overlap / (areas - overlap)
    rows, cols = linear_sum_assignment(-iou)
    return int(np.sum(iou[rows, cols] >= MATCH_IOU))


def speed_ratio(fp32: Path, int8: Path, images: list[ImageArray]) -> dict[str, float]:
    """Bare-model frames/s of both models, alternating rounds, same thread count."""
    threads = default_threads()
    detectors = {"fp32": OnnxDetector(fp32, threads=threads), "int8": OnnxDetector(int8, threads=threads)}
    tensors = [detectors["fp32"].preprocess(Frame(0, 0.0, image))[0].copy() for image in images]
    rates: dict[str, list[float]] = {name: [] for name in detectors}
    for _ in range(SPEED_ROUNDS):
        for name, detector in detectors.items():
            detector.infer(tensors[0])  # warm caches after the other model ran
            started = time.perf_counter()
            for run in range(SPEED_RUNS):
                detector.infer(tensors[run % len(tensors)])
            rates[name].append(SPEED_RUNS / (time.perf_counter() - started))
    fp32_fps, int8_fps = statistics.median(rates["fp32"]), statistics.median(rates["int8"])
    ratios = [i / f for f, i in zip(rates["fp32"], rates["int8"], strict=True)]
    return {
        "threads": threads,
        "fp32_fps": round(fp32_fps, 1),
        "int8_fps": round(int8_fps, 1),
        "ratio": round(statistics.median(ratios), 2),
        "ratio_min": round(min(ratios), 2),
        "ratio_max": round(max(ratios), 2),
    }


def _images(clip: Clip) -> list[ImageArray]:
    with open_source(str(clip.source_path), fps=clip.fps) as source:
        return [frame.image for frame in source]


def _spread(images: list[ImageArray], count: int) -> list[ImageArray]:
    picks = np.linspace(0, len(images) - 1, num=min(count, len(images))).round().astype(int)
    return [images[i] for i in picks]


def _variant_json(variant: Variant) -> dict[str, Any]:
    return {
        "label": variant.label,
        "recall": round(variant.recall, 3),
        "precision": round(variant.precision, 3),
        "score_snr_db": round(variant.snr_db, 1),
        "per_clip": [asdict(a) for a in variant.per_clip],
    }


def _table(rows: list[dict[str, Any]], first: str) -> list[str]:
    clips = [a["clip"] for a in rows[0]["per_clip"]]
    lines = [
        f"| {first} | recall | precision | score SNR dB | " + " | ".join(f"recall {c}" for c in clips) + " |",
        "|---|---|---|---|" + "---|" * len(clips),
    ]
    for row in rows:
        per_clip = " | ".join(f"{a['recall']:.3f}" for a in row["per_clip"])
        lines.append(
            f"| {row['label']} | {row['recall']:.3f} | {row['precision']:.3f} | {row['score_snr_db']:.1f} "
            f"| {per_clip} |"
        )
    return lines


def to_markdown(result: dict[str, Any]) -> str:
    speed = result["speed"]
    cross = " ".join(
        f"{row['per_clip'][0]['clip']} {row['recall']:.3f}/{row['precision']:.3f};"
        for row in result["cross_scene"]
    )
    lines = [
        "## Static INT8 quantisation (benchmarks/quantize.py)",
        "",
        result["machine"],
        "",
        f"Agreement with FP32 (boxes with score >= {SCORE}, IoU >= {MATCH_IOU}) on "
        f"{result['evaluation_frames']} frames from the second half of each clip; calibrated on "
        f"{result['calibration_frames']} frames from the first halves (same scenes, other frames).",
        "",
        *_table(result["variants"], "calibration | kept in float"),
        "",
        "Sensitivity: only one slice of the graph in INT8 (min/max, no SiLU floor), the rest float.",
        "",
        *_table(result["sensitivity"], "INT8 slice"),
        "",
        f"Cross-scene (default options, calibrated on the other clips only), recall/precision: {cross}",
        "",
        f"Bare-model speed, {speed['threads']} thread(s), alternating rounds: FP32 {speed['fp32_fps']} fps, "
        f"INT8 (default options) {speed['int8_fps']} fps, ratio {speed['ratio']} "
        f"(rounds {speed['ratio_min']}-{speed['ratio_max']}). x86 VM with AVX-512 VNNI: the Pi's "
        "Cortex-A76 has no VNNI (but has the dot-product instructions), so its ratio must be measured there.",
        "",
        f"Run time {result['elapsed_s']} s.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
