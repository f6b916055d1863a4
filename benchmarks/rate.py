"""Count accuracy against detection rate: what a Raspberry Pi that detects 2-4 times a second gets.

A Pi 4 runs the detector 2-4 times a second, not at the camera's 25-30 fps. For every clip of
../shared/data with line truth, this keeps the frames a detector running at each rate would see
(full, 10, 5, 3, 2 and 1.5 per second, `clips.at_rate`) and feeds them to ours
(`edge.pipeline.build_tracker` + `build_counter`, default settings) and to the peer
(supervision 0.30.9 ByteTrack + LineZone, told the rate), from two box sources:

- **truth**: the ground-truth boxes themselves (score 0.9): the tracker and counter alone;
- **detector**: the real model's boxes (cached per model digest, see clips.py).

On the detector's boxes a third row, **gt ids**, counts with identities taken from the ground
truth (`benchmarks/ceiling.py`): what a perfect association of the same boxes would count.

Reports line-count accuracy (1 - sum|error| / sum(truth), truth from the gt at full rate: people
really crossed) as the mean over up to 6 phases of the detection schedule (`clips.phases`: which
frames a device happens to detect on is luck, and one phase can be 0.1 off the mean), with the
worst phase; MOTA and IDF1 on the kept frames of phase 0, a markdown table in benchmarks/RESULTS.md, the
figures as JSON (benchmarks/results/rate-<label>.json) and a plot (benchmarks/rate.png).

    python -m benchmarks.rate [--label after] [--baseline benchmarks/results/rate-before.json]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import warnings
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import motmetrics
import numpy as np
import supervision as sv

from benchmarks.accuracy import check_peer_direction, iou_distances, peer_line_zone, to_supervision
from benchmarks.ceiling import identity_ceiling
from benchmarks.clips import (
    CLIPS,
    PROJECT_ROOT,
    Clip,
    at_rate,
    auto_model,
    detections,
    load_ground_truth,
    machine_line,
    model_file,
    phases,
    truth_crossings,
    truth_detections,
    write_section,
)
from edge.aggregate import CountTotals
from edge.calibration import Calibration
from edge.config import Settings
from edge.pipeline import build_counter, build_tracker
from edge.records import Detections

RATES: tuple[float | None, ...] = (None, 10.0, 5.0, 3.0, 2.0, 1.5)
"""Detections per second; None is every frame of the clip."""
RESULTS_DIR = PROJECT_ROOT / "benchmarks" / "results"
PLOT = PROJECT_ROOT / "benchmarks" / "rate.png"

BoxesPerFrame = list[tuple[int, list[tuple[int, tuple[float, float, float, float]]]]]
"""(frame index, [(track id, box)]) for every frame fed to a tracker."""


@dataclass(frozen=True, slots=True)
class RateResult:
    clip: str
    boxes: str
    tracker: str
    rate: str
    effective_fps: float
    truth: int
    counted: int
    error: int
    accuracy: float
    accuracy_min: float
    phases: int
    mota: float
    idf1: float
    ms_per_frame: float


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", default="latest", help="name of this run (results/rate-<label>.json)")
    parser.add_argument("--baseline", type=Path, help="an earlier run's JSON to show before -> after")
    parser.add_argument("--clip", action="append", help="only these clips (default: every clip)")
    parser.add_argument("--no-peer", action="store_true", help="skip supervision (faster)")
    parser.add_argument("--no-detector", action="store_true", help="truth boxes only")
    parser.add_argument(
        "--input",
        choices=("auto", "model"),
        default="auto",
        help="detector input: the default (camera aspect, D-016) or the model's own 416x416",
    )
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=FutureWarning)  # sv.ByteTrack warns it is going away
    check_peer_direction()
    rows: list[RateResult] = []
    for clip in CLIPS:
        if args.clip and clip.name not in args.clip:
            continue
        sources = {"truth": truth_detections(clip)}
        if not args.no_detector:
            model = auto_model(clip) if args.input == "auto" else None
            sources["detector"] = detections(clip, model=model)
        for boxes_name, stream in sources.items():
            for rate in RATES:
                runs = [at_rate(stream, clip.fps, rate, phase) for phase in phases(clip.fps, rate)]
                ours = [
                    evaluate_ours(clip, boxes_name, rate, kept, metrics=not i) for i, kept in enumerate(runs)
                ]
                rows.append(_over_phases(ours))
                if not args.no_peer:
                    peer = [
                        evaluate_peer(clip, boxes_name, rate, kept, metrics=not i)
                        for i, kept in enumerate(runs)
                    ]
                    rows.append(_over_phases(peer))
                if boxes_name == "detector":
                    rows.append(_over_phases([evaluate_ceiling(clip, rate, kept) for kept in runs]))
                ours_row = next(row for row in reversed(rows) if row.tracker == "ours")
                print(_row_text(ours_row), file=sys.stderr)
    result = {
        "label": args.label,
        "machine": machine_line(),
        "model": model_file().name,
        "input": args.input,
        "rows": [asdict(row) for row in rows],
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / f"rate-{args.label}.json").write_text(json.dumps(result, indent=1) + "\n")
    baseline = json.loads(args.baseline.read_text()) if args.baseline else None
    markdown = to_markdown(result, baseline)
    write_section("rate", markdown)
    plot(rows, PLOT)
    print(markdown)
    return 0


def evaluate_ours(
    clip: Clip, boxes_name: str, rate: float | None, kept: list[Detections], *, metrics: bool = True
) -> RateResult:
    calibration = clip.load_calibration()
    settings = Settings()
    tracker, counter = build_tracker(settings), build_counter(settings, calibration)
    totals = CountTotals([line.line_id for line in calibration.lines], [])
    tracked_boxes: BoxesPerFrame = []
    started = time.perf_counter()
    for item in kept:
        tracked = tracker.update(item)
        totals.add(counter.update(tracked))
        tracked_boxes.append((item.frame_index, [(int(t.track_id), t.box) for t in tracked.tracks]))
    totals.add(counter.finish(kept[-1].timestamp_s + 1.0 / clip.fps))
    elapsed_ms = (time.perf_counter() - started) * 1000.0 / max(len(kept), 1)
    counts = _line_counts(calibration, totals)
    return _result(
        clip,
        boxes_name,
        "ours",
        rate,
        kept,
        calibration,
        counts,
        tracked_boxes if metrics else None,
        elapsed_ms,
    )


def evaluate_ceiling(clip: Clip, rate: float | None, kept: list[Detections]) -> RateResult:
    """The real counter on the detector's boxes with ground-truth identities (no MOT metrics)."""
    calibration = clip.load_calibration()
    counter = build_counter(Settings(), calibration)
    totals = CountTotals([line.line_id for line in calibration.lines], [])
    started = time.perf_counter()
    for tracked in identity_ceiling(clip, kept):
        totals.add(counter.update(tracked))
    totals.add(counter.finish(kept[-1].timestamp_s + 1.0 / clip.fps))
    elapsed_ms = (time.perf_counter() - started) * 1000.0 / max(len(kept), 1)
    counts = _line_counts(calibration, totals)
    return _result(clip, "detector", "gt ids", rate, kept, calibration, counts, None, elapsed_ms)


def _line_counts(calibration: Calibration, totals: CountTotals) -> dict[Any, tuple[int, int]]:
    summary = totals.summary()
    return {
        line.line_id: (summary.line(line.line_id).in_count, summary.line(line.line_id).out_count)
        for line in calibration.lines
    }


def evaluate_peer(
    clip: Clip, boxes_name: str, rate: float | None, kept: list[Detections], *, metrics: bool = True
) -> RateResult:
    calibration = clip.load_calibration()
    effective = _effective_fps(clip, kept)
    tracker = sv.ByteTrack(frame_rate=max(1, round(effective)))
    zones = {line.line_id: peer_line_zone(line, clip.width, clip.height) for line in calibration.lines}
    tracked_boxes: BoxesPerFrame = []
    started = time.perf_counter()
    for item in kept:
        tracked = tracker.update_with_detections(to_supervision(item))
        for zone in zones.values():
            zone.trigger(tracked)
        assert tracked.tracker_id is not None
        tracked_boxes.append(
            (
                item.frame_index,
                [
                    (int(i), (float(b[0]), float(b[1]), float(b[2]), float(b[3])))
                    for i, b in zip(tracked.tracker_id, tracked.xyxy, strict=True)
                ],
            )
        )
    elapsed_ms = (time.perf_counter() - started) * 1000.0 / max(len(kept), 1)
    counts = {name: (zone.in_count, zone.out_count) for name, zone in zones.items()}
    return _result(
        clip,
        boxes_name,
        "supervision",
        rate,
        kept,
        calibration,
        counts,
        tracked_boxes if metrics else None,
        elapsed_ms,
    )


def _result(
    clip: Clip,
    boxes_name: str,
    tracker: str,
    rate: float | None,
    kept: list[Detections],
    calibration: Calibration,
    counts: dict[Any, tuple[int, int]],
    tracked_boxes: BoxesPerFrame | None,
    ms_per_frame: float,
) -> RateResult:
    """One run's row; MOTA/IDF1 only when `tracked_boxes` is given (NaN otherwise)."""
    truth_total = 0
    error = 0
    counted = 0
    for line in calibration.lines:
        truth_in, truth_out = truth_crossings(clip, line)
        got_in, got_out = counts[line.line_id]
        truth_total += truth_in + truth_out
        counted += got_in + got_out
        error += abs(got_in - truth_in) + abs(got_out - truth_out)
    mota, idf1 = _mot_metrics(clip, tracked_boxes) if tracked_boxes is not None else (math.nan, math.nan)
    return RateResult(
        clip=clip.name,
        boxes=boxes_name,
        tracker=tracker,
        rate="full" if rate is None else f"{rate:g}",
        effective_fps=round(_effective_fps(clip, kept), 2),
        truth=truth_total,
        counted=counted,
        error=error,
        accuracy=round(1.0 - error / truth_total, 3) if truth_total else 1.0,
        accuracy_min=round(1.0 - error / truth_total, 3) if truth_total else 1.0,
        phases=1,
        mota=mota,
        idf1=idf1,
        ms_per_frame=round(ms_per_frame, 3),
    )


def _over_phases(runs: list[RateResult]) -> RateResult:
    """One row for a rate: accuracy averaged over the phases, MOTA/IDF1 and counts of phase 0."""
    accuracies = [run.accuracy for run in runs]
    return replace(
        runs[0],
        accuracy=round(float(np.mean(accuracies)), 3),
        accuracy_min=min(accuracies),
        phases=len(runs),
        effective_fps=round(float(np.mean([run.effective_fps for run in runs])), 2),
    )


def _effective_fps(clip: Clip, kept: list[Detections]) -> float:
    if len(kept) < 2:
        return clip.fps
    span_s = kept[-1].timestamp_s - kept[0].timestamp_s
    return (len(kept) - 1) / span_s if span_s > 0 else clip.fps


def _mot_metrics(clip: Clip, tracked_boxes: BoxesPerFrame) -> tuple[float, float]:
    """MOTA and IDF1 over the frames the tracker was given (IoU >= 0.5)."""
    truth_by_frame: dict[int, list[tuple[int, tuple[float, float, float, float]]]] = {}
    for truth in load_ground_truth(clip):
        truth_by_frame.setdefault(truth.frame_index, []).append((truth.person_id, truth.box))
    accumulator = motmetrics.MOTAccumulator(auto_id=True)
    for frame_index, tracks in tracked_boxes:
        people = truth_by_frame.get(frame_index, [])
        distances = iou_distances([box for _, box in people], [box for _, box in tracks])
        accumulator.update([pid for pid, _ in people], [tid for tid, _ in tracks], distances)
    metrics = motmetrics.metrics.create().compute(accumulator, metrics=["mota", "idf1"], name="run")
    row = metrics.iloc[0]
    return round(float(row["mota"]), 3), round(float(row["idf1"]), 3)


def _row_text(row: RateResult) -> str:
    return (
        f"{row.clip:16} {row.boxes:8} {row.tracker:11} {row.rate:>4} ({row.effective_fps:5.2f}/s) "
        f"acc {row.accuracy:.3f} (worst of {row.phases} phases {row.accuracy_min:.3f}) "
        f"MOTA {row.mota:.3f} IDF1 {row.idf1:.3f}"
    )


def _key(row: dict[str, Any]) -> tuple[str, str, str, str]:
    return (row["clip"], row["boxes"], row["tracker"], row["rate"])


def to_markdown(result: dict[str, Any], baseline: dict[str, Any] | None) -> str:
    before = {_key(row): row for row in baseline["rows"]} if baseline else {}
    rates = ["full" if rate is None else f"{rate:g}" for rate in RATES]
    out = [
        "## Accuracy against detection rate (`benchmarks/rate.py`)",
        "",
        f"Measured {result['machine']}, model `{result['model']}` (input {result.get('input', 'model')}), "
        f"run `{result['label']}`"
        + (f", before = run `{baseline['label']}`" if baseline else "")
        + ". Line-count accuracy, 1 - sum|error| / sum(truth), truth from the gt at full rate. "
        "Rate = detections per second (frames kept as a device detecting whenever ready would). "
        "`truth` boxes = the gt boxes (tracker and counter alone); `detector` = YOLOX-Nano. Below full rate: "
        "the mean over up to 6 phases of the detection schedule, the worst phase in brackets. "
        "Tracker `gt ids`: the detector's boxes with identities from the ground truth "
        "(`benchmarks/ceiling.py`), what a perfect association of those boxes would count.",
        "",
        "| clip | boxes | tracker | "
        + " | ".join(f"{rate}/s" if rate != "full" else "full" for rate in rates)
        + " |",
        "|---|---|---|" + "---|" * len(rates),
    ]
    rows = result["rows"]
    groups: dict[tuple[str, str, str], dict[str, dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["clip"], row["boxes"], row["tracker"]), {})[row["rate"]] = row
    for (clip, boxes, tracker), by_rate in groups.items():
        cells = []
        for rate in rates:
            row = by_rate.get(rate)
            if row is None:
                cells.append("")
                continue
            cell = f"{row['accuracy']:.3f}"
            if row.get("phases", 1) > 1:
                cell += f" ({row['accuracy_min']:.3f})"
            earlier = before.get(_key(row))
            if earlier is not None and earlier["accuracy"] != row["accuracy"]:
                cell = f"{earlier['accuracy']:.3f} → **{row['accuracy']:.3f}**"
            cells.append(cell)
        out.append(f"| {clip} | {boxes} | {tracker} | " + " | ".join(cells) + " |")
    out += [
        "",
        "MOTA / IDF1 on the kept frames, ours (supervision):",
        "",
        "| clip | boxes | " + " | ".join(rates) + " |",
        "|---|---|" + "---|" * len(rates),
    ]
    for (clip, boxes, tracker), by_rate in groups.items():
        if tracker != "ours":
            continue
        peer = groups.get((clip, boxes, "supervision"), {})
        cells = []
        for rate in rates:
            row = by_rate.get(rate)
            other = peer.get(rate)
            cell = "" if row is None else f"{row['mota']:.2f}/{row['idf1']:.2f}"
            if other is not None:
                cell += f" ({other['mota']:.2f}/{other['idf1']:.2f})"
            cells.append(cell)
        out.append(f"| {clip} | {boxes} | " + " | ".join(cells) + " |")
    ours = [row for row in rows if row["tracker"] == "ours"]
    if ours:
        mean_ms = np.mean([row["ms_per_frame"] for row in ours])
        out += ["", f"Tracker + counter, ours: {mean_ms:.3f} ms per frame fed (mean over every run above)."]
    out += ["", "![accuracy against detection rate](rate.png)"]
    return "\n".join(out)


def plot(rows: list[RateResult], path: Path) -> None:
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
    for axis, boxes in zip(axes, ("truth", "detector"), strict=True):
        for clip in dict.fromkeys(row.clip for row in rows):
            for tracker, style in (("ours", "-o"), ("supervision", ":x"), ("gt ids", "--.")):
                points = [r for r in rows if r.clip == clip and r.boxes == boxes and r.tracker == tracker]
                if not points:
                    continue
                axis.plot(
                    [r.effective_fps for r in points],
                    [r.accuracy for r in points],
                    style,
                    label=f"{clip} ({tracker})",
                )
        axis.set_xscale("log")
        axis.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        axis.set_xticks([1.5, 2, 3, 5, 10, 30])
        axis.set_xticklabels(["1.5", "2", "3", "5", "10", "30"])
        axis.set_xlabel("detections per second")
        axis.set_title(f"{boxes} boxes")
        axis.grid(True, alpha=0.3)
    axes[0].set_ylabel("line-count accuracy")
    axes[0].set_ylim(0.0, 1.02)
    axes[1].legend(fontsize=7, loc="lower right")
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)


if __name__ == "__main__":
    sys.exit(main())
