"""Pipeline speed against the hardware limit: bare model frames/s vs the whole `footfall count`.

(a) The bare model: onnxruntime inference alone, on inputs letterboxed in advance: the most frames
per second this machine can push through the detector, so the pipeline's ceiling.
(b) The whole pipeline as `footfall count` runs it (prefetched decode, preprocess, inference,
postprocess, track, count), timed end to end, then once more stage by stage for a breakdown.
Both are measured in the same run; quote their ratio, not the absolute figures (shared machine).

    python -m benchmarks.pipeline [--clip NAME] [--threads N] [--frames N] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from benchmarks.clips import CLIPS, VISITS_CLIP, Clip, machine_line, model_file, write_section
from edge.config import DetectorSettings, Settings
from edge.detect import OnnxDetector
from edge.detect.onnx import default_threads
from edge.pipeline import build_counter, build_pipeline, build_tracker, count_source
from edge.records import Frame
from edge.sources import FrameSource, open_source, prefetch

# Inputs letterboxed ahead for the bare-model run, cycled: enough variety, bounded memory (2 MB each).
PREPARED_INPUTS = 32
# Alternating rounds of (bare model, whole pipeline).
ROUNDS = 3
STAGES = ("decode", "preprocess", "inference", "postprocess", "track", "count")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    names = {clip.name: clip for clip in (*CLIPS, VISITS_CLIP)}
    parser.add_argument("--clip", choices=sorted(names), default="TUD-Stadtmitte")
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="onnxruntime threads (0: every core but one, as footfall count)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    clip = names[args.clip]
    result = measure(clip, args.threads)
    write_section("pipeline", to_markdown(result))
    print(json.dumps(result) if args.json else to_markdown(result))
    return 0


def measure(clip: Clip, threads: int) -> dict[str, Any]:
    settings = Settings(detector=DetectorSettings(threads=threads))
    calibration = clip.load_calibration()
    detector = OnnxDetector(model_file(), threads=threads)
    with _source(clip) as source:
        inputs = [
            detector.preprocess(frame)[0].copy()
            for frame, _ in zip(source, range(PREPARED_INPUTS), strict=False)
        ]
    repeats = max(1, -(-clip_frames(clip) // len(inputs)))
    # Alternate the two measurements and keep the best of each: the machine is shared and noisy.
    model_runs, pipeline_runs = [], []
    for _ in range(ROUNDS):
        model_runs.append(bare_model_fps(detector, inputs, repeats))
        pipeline = build_pipeline(settings, calibration, model_file())
        started = time.perf_counter()
        with _source(clip) as source:
            run = count_source(prefetch(source), pipeline, calibration)
        pipeline_runs.append(run.frames / (time.perf_counter() - started))
    model_fps, pipeline_fps = max(model_runs), max(pipeline_runs)
    # The machine's limit: the bare model on every core, whatever thread count the pipeline uses.
    all_cores = OnnxDetector(model_file(), threads=len(os.sched_getaffinity(0)))
    limit_fps = max(bare_model_fps(all_cores, inputs, repeats) for _ in range(ROUNDS))
    stages = stage_breakdown(clip, settings, detector)
    return {
        "machine": machine_line(),
        "clip": clip.name,
        "frames": run.frames,
        "threads": threads or default_threads(),
        "input_size": list(detector.input_size),
        "model_fps": round(model_fps, 2),
        "pipeline_fps": round(pipeline_fps, 2),
        "ratio": round(pipeline_fps / model_fps, 3),
        "model_fps_all_cores": round(limit_fps, 2),
        "ratio_to_all_cores": round(pipeline_fps / limit_fps, 3),
        "stages_ms": stages,
        "rss_peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def _source(clip: Clip) -> FrameSource:
    return open_source(str(clip.source_path), fps=clip.fps)


def bare_model_fps(detector: OnnxDetector, inputs: list[np.ndarray[Any, Any]], repeats: int) -> float:
    """Inference alone over the prepared inputs (as many frames as the clip), after a warm-up."""
    for tensor in inputs[:5]:
        detector.infer(tensor)
    started = time.perf_counter()
    for _ in range(repeats):
        for tensor in inputs:
            detector.infer(tensor)
    return repeats * len(inputs) / (time.perf_counter() - started)


def clip_frames(clip: Clip) -> int:
    with _source(clip) as source:
        return source.frame_count or 0


def stage_breakdown(clip: Clip, settings: Settings, detector: OnnxDetector) -> dict[str, dict[str, float]]:
    """ms/frame of each stage (p50, p95), timed one frame at a time without read-ahead."""
    tracker, counter = build_tracker(settings), build_counter(settings, clip.load_calibration())
    timings: dict[str, list[float]] = {stage: [] for stage in STAGES}
    clock = time.perf_counter
    with _source(clip) as source:
        frames: Iterator[Frame] = iter(source)
        while True:
            marks = [clock()]
            frame = next(frames, None)
            if frame is None:
                break
            marks.append(clock())
            tensor, scale = detector.preprocess(frame)
            marks.append(clock())
            head = detector.infer(tensor)
            marks.append(clock())
            found = detector.postprocess(head, scale, frame)
            marks.append(clock())
            tracked = tracker.update(found)
            marks.append(clock())
            counter.update(tracked)
            marks.append(clock())
            for stage, begin, finish in zip(STAGES, marks, marks[1:], strict=False):
                timings[stage].append((finish - begin) * 1000.0)
    return {
        stage: {
            "p50": round(float(np.percentile(values, 50)), 3),
            "p95": round(float(np.percentile(values, 95)), 3),
            "mean": round(float(np.mean(values)), 3),
        }
        for stage, values in timings.items()
    }


def to_markdown(result: dict[str, Any]) -> str:
    out = [
        "## Pipeline speed (`benchmarks/pipeline.py`)",
        "",
        f"Measured {result['machine']}. Clip {result['clip']} ({result['frames']} frames), "
        f"model input {result['input_size'][0]}x{result['input_size'][1]}, "
        f"threads {result['threads']}; best of {ROUNDS} alternating rounds each.",
        "",
        f"Bare model {result['model_fps']:.1f} frames/s; "
        f"whole pipeline {result['pipeline_fps']:.1f} frames/s; "
        f"**ratio {result['ratio']:.2f}**. Peak RSS {result['rss_peak_mb']:.0f} MB. "
        f"The bare model on all cores: {result['model_fps_all_cores']:.1f} frames/s "
        f"(pipeline / that = {result['ratio_to_all_cores']:.2f}).",
        "",
        "| stage | p50 ms | p95 ms | mean ms |",
        "|---|---|---|---|",
    ]
    for stage, figures in result["stages_ms"].items():
        out.append(f"| {stage} | {figures['p50']:.2f} | {figures['p95']:.2f} | {figures['mean']:.2f} |")
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
