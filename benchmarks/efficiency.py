"""Issue 9 in one run: every way of spending less CPU, next to FP32 at full rate, on every clip.

Variants (the same clips, the real model on every run, each timed end to end with decoding):
- `fp32 full`: YOLOX-Nano 416x416 on every frame: the reference.
- `fp32 adaptive`: the shipped default, the adaptive schedule with the motion gate (D-018).
- `fp32 aspect full`: a copy of the model patched to the camera's aspect (416x320 for these 4:3
  clips, same scale, no letterbox padding), every frame.
- `int8 full` / `int8 adaptive`: the static INT8 model (edge.detect.quantize defaults), calibrated
  on 8 frames from the first half of each clip; built into benchmarks/.cache on first use.

Per variant: frames/s, CPU seconds per minute of video (process time, all threads), inferred
share of frames, line-count accuracy (1 - sum|error| / sum truth over every line with truth) and
MOTA/IDF1 per clip (a skipped frame shows the tracker's last boxes).

    python -m benchmarks.efficiency [--json]
"""

from __future__ import annotations

import argparse
import json
import logging
import warnings
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from benchmarks.adaptive import RunResult, accuracy, run_clip
from benchmarks.clips import CACHE, CLIPS, VISITS_CLIP, machine_line, model_file, write_section
from benchmarks.quantize import CALIBRATION_PER_CLIP, _images, _spread
from edge.detect import OnnxDetector
from edge.detect.quantize import quantize_model
from edge.detect.resize import resize_model
from edge.schedule import AdaptiveScheduler, DetectionScheduler, MotionGate
from edge.sources import open_source

Variant = tuple[str, Path, Callable[[], DetectionScheduler | None]]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    warnings.filterwarnings("ignore", category=FutureWarning)
    fp32 = model_file()

    def adaptive() -> DetectionScheduler:
        return AdaptiveScheduler(gate=MotionGate())

    variants: list[Variant] = [
        ("fp32 full", fp32, lambda: None),
        ("fp32 adaptive", fp32, adaptive),
        ("fp32 aspect full", aspect_model(fp32), lambda: None),
        ("int8 full", int8_model(fp32), lambda: None),
        ("int8 adaptive", int8_model(fp32), adaptive),
    ]
    rows = [measure(name, model, make) for name, model, make in variants]
    result = {"machine": machine_line(), "variants": rows}
    markdown = to_markdown(result)
    write_section("efficiency", markdown)
    print(json.dumps(result) if args.json else markdown)
    return 0


def aspect_model(fp32: Path) -> Path:
    """The model patched to 416x320: these clips are 4:3, so the same scale without padding."""
    path = CACHE / "yolox_nano-416x320.onnx"
    if not path.is_file():
        CACHE.mkdir(parents=True, exist_ok=True)
        resize_model(fp32, path, 416, 320)
    return path


def int8_model(fp32: Path) -> Path:
    path = CACHE / "yolox_nano-int8.onnx"
    if not path.is_file():
        CACHE.mkdir(parents=True, exist_ok=True)
        frames = []
        for clip in CLIPS:
            images = _images(clip)
            frames += _spread(images[: len(images) // 2], CALIBRATION_PER_CLIP)
        quantize_model(fp32, frames, path)
    return path


def measure(name: str, model: Path, make: Callable[[], DetectionScheduler | None]) -> dict[str, Any]:
    detector = OnnxDetector(model)
    runs: list[RunResult] = []
    for clip in (*CLIPS, VISITS_CLIP):
        with open_source(str(clip.source_path), fps=clip.fps) as source:
            detector.detect(next(iter(source)))  # warm-up outside the timed run
        runs.append(run_clip(clip, detector, name, make()))
    frames = sum(run.frames for run in runs)
    wall_s = sum(run.frames / run.fps for run in runs)
    video_min = sum(run.frames / clip.fps for run, clip in zip(runs, (*CLIPS, VISITS_CLIP), strict=True)) / 60
    cpu_s = sum(
        run.cpu_s_per_video_min * (run.frames / clip.fps / 60)
        for run, clip in zip(runs, (*CLIPS, VISITS_CLIP), strict=True)
    )
    return {
        "variant": name,
        "model": model.name,
        "fps": round(frames / wall_s, 1),
        "cpu_s_per_video_min": round(cpu_s / video_min, 2),
        "inferred_fraction": round(sum(run.inferred_fraction * run.frames for run in runs) / frames, 3),
        "count_accuracy": round(accuracy(runs), 3),
        "runs": [asdict(run) for run in runs],
    }


def to_markdown(result: dict[str, Any]) -> str:
    base = result["variants"][0]
    out = [
        "## Efficiency (`benchmarks/efficiency.py`)",
        "",
        f"Measured {result['machine']}. One run; ratios against `{base['variant']}` of the same run.",
        "",
        "| variant | frames/s | CPU s per video min | vs fp32 full | frames inferred | count accuracy |"
        + "".join(f" {run['clip']} MOTA/IDF1 |" for run in base["runs"] if run["mota"] is not None),
        "|---|---|---|---|---|---|" + "---|" * sum(run["mota"] is not None for run in base["runs"]),
    ]
    for row in result["variants"]:
        cells = [
            row["variant"],
            f"{row['fps']:.1f}",
            f"{row['cpu_s_per_video_min']:.2f}",
            f"{row['cpu_s_per_video_min'] / base['cpu_s_per_video_min']:.2f}x",
            f"{row['inferred_fraction']:.2f}",
            f"{row['count_accuracy']:.3f}",
        ]
        cells += [f"{run['mota']:.3f}/{run['idf1']:.3f}" for run in row["runs"] if run["mota"] is not None]
        out.append("| " + " | ".join(cells) + " |")
    out += ["", "Lines per variant (in/out; truth first):", ""]
    for row in result["variants"]:
        lines = [
            f"{run['clip']} {line} {run['lines'][line][0]}/{run['lines'][line][1]}"
            for run in row["runs"]
            for line in run["lines"]
        ]
        out.append(f"- {row['variant']}: " + ", ".join(lines))
    truth = [
        f"{run['clip']} {line} {run['truth'][line][0]}/{run['truth'][line][1]}"
        for run in base["runs"]
        for line in run["truth"]
    ]
    out.append("- truth: " + ", ".join(truth))
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
