"""The service itself at a simulated Raspberry Pi 4 detection rate: do the counts hold?

Runs the real service (`footfall run` as a process, the real model) on ADL-Rundle-6 (the busy
shopping street of ../shared/data, 525 frames at 30 fps, four lines, 55 crossings) played as a
live camera in real time, once per schedule:

- ``default``: the default adaptive schedule (every frame while anyone is in view, D-018);
- ``3/s``: detection capped at 3 a second (``schedule.max_fps`` = ``min_fps`` = 3), a Pi 4's rate;
- ``2/s``: capped at 2 a second, a busy or hot Pi.

A video file given as the camera loops forever, so each run stops one pass's worth of wall time
(plus a margin) after the first frame, with SIGTERM, which closes the open interval; the frames of
the second pass that were counted are reported (see `tests/e2e/service_pass.py`). Counts are the
sums of the interval records the service stored in its outbox, compared with the truth (from the
gt boxes by the rule of ../shared/data/README.md) and with `footfall count --json` on the same
clip with the same schedule settings (offline: every frame decoded, as fast as it goes). Accuracy
= 1 - sum |error| / sum(truth) over lines and directions. Detections per second = frames per
observed second (intervals) x the time mean of the status API's `detected_share`; CPU = the
process's CPU time while counting, in cores. For scale, the same clip offline detecting every
10th (15th) frame from each start offset shows how much the choice of detected frames alone
moves the counts at 3/s (2/s): a frame dropped under load shifts a live run to another offset.

PETS09-S2L1-300 is not run: it is a folder of JPEG frames, which the service reads as fast as it
decodes them (`ImageFolderSource`, finite), not in real time; only a video file is played as a
camera, and a re-encoding of the frames is a copy of the data the shared README forbids.

    python -m benchmarks.service_rate [--schedules default,3,2] [--repeat 1] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchmarks.clips import (
    CLIPS,
    SHARED_DATA,
    Clip,
    auto_model,
    detections,
    machine_line,
    truth_crossings,
    write_section,
)
from edge.aggregate import CountTotals
from edge.assets import default_cache_dir, fetch, find_asset
from edge.config import Settings
from edge.pipeline import build_counter, build_tracker
from edge.sources import VideoFileSource
from tests.e2e.service_pass import FOOTFALL, ServicePass, accuracy, run_one_pass

CLIP_NAME = "ADL-Rundle-6"
SCHEDULES = ("default", "3", "2")
"""Schedules run by default: the default adaptive one, then detection capped at N per second."""

PHASE_STEPS = (10, 15)
"""Every Nth frame of the 30 fps clip: 3 and 2 detections a second, for `phase_accuracies`."""


@dataclass(frozen=True, slots=True)
class RateRun:
    """One service run and the offline count with the same schedule."""

    schedule: str
    service: dict[str, tuple[int, int]]
    offline: dict[str, tuple[int, int]]
    service_accuracy: float
    offline_accuracy: float
    detections_per_s: float
    frames_per_s: float
    frames_dropped: int
    second_pass_frames: int
    intervals: int
    cpu_cores: float


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--schedules", default=",".join(SCHEDULES), help="comma-separated: default, or a rate per second"
    )
    parser.add_argument("--repeat", type=int, default=1, help="service runs per schedule")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    schedules = [schedule.strip() for schedule in args.schedules.split(",") if schedule.strip()]
    result = measure(schedules, args.repeat)
    markdown = to_markdown(result)
    write_section("service-rate", markdown)
    print(json.dumps(result) if args.json else markdown)
    return 0


def measure(schedules: list[str], repeat: int) -> dict[str, Any]:
    """Every schedule `repeat` times through the service, and once offline."""
    clip = next(clip for clip in CLIPS if clip.name == CLIP_NAME)
    cache_dir = default_cache_dir()
    mirror = Path(os.environ["FOOTFALL_MIRROR"]) if os.environ.get("FOOTFALL_MIRROR") else None
    fetch(find_asset("yolox_nano"), cache_dir=cache_dir, mirror=mirror)
    truth = {str(line.line_id): truth_crossings(clip, line) for line in clip.load_calibration().lines}
    with VideoFileSource(clip.source_path) as video:
        frame_count, fps = video.frame_count, video.fps
    assert frame_count is not None, "the clip's header has no frame count"
    runs: list[RateRun] = []
    with tempfile.TemporaryDirectory() as folder:
        calibration = Path(folder) / "calibration.json"
        write_calibration(clip, calibration)
        for schedule in schedules:
            offline = count_offline(clip.source_path, calibration, cache_dir, schedule_settings(schedule))
            for number in range(repeat):
                state = Path(folder) / f"{schedule}-{number}"
                state.mkdir()
                run = run_one_pass(
                    clip.source_path,
                    calibration,
                    state,
                    cache_dir=cache_dir,
                    clip_frames=frame_count,
                    clip_fps=fps,
                    settings=schedule_settings(schedule),
                )
                runs.append(rate_run(schedule, run, offline, truth))
    return {
        "machine": machine_line(),
        "phases": {str(step): phase_accuracies(clip, truth, step) for step in PHASE_STEPS},
        "clip": clip.name,
        "clip_frames": frame_count,
        "clip_fps": fps,
        "truth": truth,
        "runs": [asdict(run) for run in runs],
    }


def schedule_settings(schedule: str) -> dict[str, str]:
    """Environment settings of a schedule: none for the default, else max_fps = min_fps = the rate."""
    if schedule == "default":
        return {}
    rate = float(schedule)
    return {"FOOTFALL_SCHEDULE__MAX_FPS": f"{rate:g}", "FOOTFALL_SCHEDULE__MIN_FPS": f"{rate:g}"}


def write_calibration(clip: Clip, path: Path) -> None:
    """The clip's lines.json (read from ../shared/data at run time) as a calibration file."""
    lines = json.loads((SHARED_DATA / clip.calibration).read_text())
    path.write_text(json.dumps({"description": clip.name, "lines": lines}))


def count_offline(
    source: Path, calibration: Path, cache_dir: Path, settings: dict[str, str]
) -> dict[str, tuple[int, int]]:
    """In and out per line from `footfall count --json` with the same settings as the service."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("FOOTFALL_")}
    environment.update({"FOOTFALL_CACHE_DIR": str(cache_dir), **settings})
    completed = subprocess.run(
        [str(FOOTFALL), "count", str(source), "--calibration", str(calibration), "--json"],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    document = json.loads(completed.stdout)
    return {line_id: (counts["in"], counts["out"]) for line_id, counts in document["lines"].items()}


def phase_accuracies(clip: Clip, truth: dict[str, tuple[int, int]], step: int) -> list[float]:
    """Offline accuracy detecting every `step`th frame from each start offset 0..step-1.

    A live service detects the frames its schedule happens to pick: one frame dropped under load
    moves every later detection by a frame. This is how much that choice alone moves the counts
    (the real model's boxes at the service's input size, cached by `clips.detections`).
    """
    calibration = clip.load_calibration()
    stream = detections(clip, model=auto_model(clip))
    accuracies = []
    for offset in range(step):
        kept = stream[offset::step]
        tracker, counter = build_tracker(Settings()), build_counter(Settings(), calibration)
        totals = CountTotals([line.line_id for line in calibration.lines], [])
        for found in kept:
            totals.add(counter.update(tracker.update(found)))
        totals.add(counter.finish(kept[-1].timestamp_s + 1.0 / clip.fps))
        summary = totals.summary()
        counted = {
            line_id: (summary.line(line_id).in_count, summary.line(line_id).out_count) for line_id in truth
        }
        accuracies.append(round(accuracy(counted, truth), 3))
    return accuracies


def rate_run(
    schedule: str,
    run: ServicePass,
    offline: dict[str, tuple[int, int]],
    truth: dict[str, tuple[int, int]],
) -> RateRun:
    return RateRun(
        schedule=schedule,
        service=run.counts(),
        offline=offline,
        service_accuracy=round(accuracy(run.counts(), truth), 3),
        offline_accuracy=round(accuracy(offline, truth), 3),
        detections_per_s=round(run.detections_per_s, 2),
        frames_per_s=round(run.frames_per_s, 2),
        frames_dropped=run.frames_dropped,
        second_pass_frames=run.second_pass_frames,
        intervals=run.intervals,
        cpu_cores=round(run.cpu_cores, 3),
    )


def to_markdown(result: dict[str, Any]) -> str:
    truth = result["truth"]
    out = [
        "## The service at a Pi 4 detection rate (`benchmarks/service_rate.py`)",
        "",
        f"Measured {result['machine']}. `footfall run` (real model, API on, MQTT off) on "
        f"{result['clip']} ({result['clip_frames']} frames, {result['clip_fps']:g} fps) played as a "
        "live camera in real time; stopped by SIGTERM 0.3 s after one pass (its end worked out from the "
        "first interval the service closed; the clip loops, so the first frames of its second pass are "
        "counted too: `2nd pass`). Counts = "
        "sum of the intervals in the outbox; `offline` = `footfall count --json` on the same clip "
        "with the same schedule. Accuracy = 1 - sum|error| / sum(truth), "
        f"{sum(a + b for a, b in truth.values())} crossings. det/s = frames per observed second x "
        "the time mean of the status API's `detected_share`; CPU in cores while counting.",
        "",
        "| schedule | det/s | frames/s | dropped | 2nd pass | CPU cores | accuracy | offline | "
        + " | ".join(f"{line_id} in/out" for line_id in truth)
        + " |",
        "|---|---|---|---|---|---|---|---|" + "---|" * len(truth),
        "| truth | | | | | | | | " + " | ".join(f"{a}/{b}" for a, b in truth.values()) + " |",
    ]
    out += [_row(run, truth) for run in result["runs"]]
    matching = sum(1 for run in result["runs"] if _same_counts(run["service"], run["offline"]))
    out += [
        "",
        f"The service stored the same per-line counts as `footfall count` offline in {matching} of "
        f"{len(result['runs'])} runs.",
        "",
        "Which frames get detected matters at these rates: offline, detecting every Nth frame from each "
        "start offset (one frame dropped under load shifts a live run to another offset): "
        + "; ".join(
            f"every {step}th ({result['clip_fps'] / int(step):g}/s): {min(values):.3f}-{max(values):.3f}, "
            f"mean {sum(values) / len(values):.3f}"
            for step, values in result["phases"].items()
        )
        + ".",
        "",
        "PETS09-S2L1-300 is not run: the service reads a folder of frames as fast as it decodes "
        "them, not in real time (only a video file is played as a camera), and re-encoding the "
        "frames into a video would copy the data.",
    ]
    return "\n".join(out)


def _row(run: dict[str, Any], truth: dict[str, tuple[int, int]]) -> str:
    """One table row: a run's figures, then in/out per line (and offline's where it differs)."""
    cells = []
    for line_id in truth:
        service, offline = run["service"].get(line_id, (0, 0)), run["offline"].get(line_id, (0, 0))
        differs = "" if tuple(service) == tuple(offline) else f" (offline {offline[0]}/{offline[1]})"
        cells.append(f"{service[0]}/{service[1]}{differs}")
    return (
        f"| {_schedule_label(run['schedule'])} | {run['detections_per_s']:.2f} | "
        f"{run['frames_per_s']:.1f} | {run['frames_dropped']} | {run['second_pass_frames']} | "
        f"{run['cpu_cores']:.2f} | **{run['service_accuracy']:.3f}** | {run['offline_accuracy']:.3f} | "
        + " | ".join(cells)
        + " |"
    )


def _same_counts(service: dict[str, Any], offline: dict[str, Any]) -> bool:
    return {key: tuple(value) for key, value in service.items()} == {
        key: tuple(value) for key, value in offline.items()
    }


def _schedule_label(schedule: str) -> str:
    return "default (adaptive)" if schedule == "default" else f"capped {schedule}/s"


if __name__ == "__main__":
    sys.exit(main())
