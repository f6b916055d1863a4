"""Where the real tracker loses crossings: each ground-truth crossing, classified, against rate.

For every crossing of a counting line in the ground truth (the rule of ../shared/data/README.md)
this looks at the kept frames within `WINDOW_S` before and after it, at each detection rate and
phase (as `benchmarks/rate.py`), and sorts it by what the real tracker did with that person:

- **same track**: one track followed the person across (the counter can count it);
- **no detection**: the detector never found the person (IoU >= 0.5, score >= 0.3) on one side;
- **no track**: found by the detector, but no confirmed track followed them on one side
  (birth too late, track lost);
- **swapped**: followed on both sides by different tracks, and the track that followed them
  before went on with someone else within the window (an id swap between neighbours);
- **lost, restarted**: followed on both sides by different tracks, the first one lost (a track
  hidden for too long, or whose person came back further than the gates allow) and another born.
In both of the last two the crossing is split between two tracks. A swap costs a count only
when the two people are on different sides of the line at the time; two people who cross
together and exchange tracks are still counted twice, as they should be.

A crossing counts for a track when its box matches the person's gt box (IoU >= 0.4, one-to-one).
Figures are crossings per run, averaged over the phases.

    python -m benchmarks.losses [--clip ADL-Rundle-6] [--rate 3 ...]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter

import numpy as np
from scipy.optimize import linear_sum_assignment

from benchmarks.ceiling import MIN_IOU, MIN_SCORE
from benchmarks.clips import (
    CLIPS,
    Clip,
    at_rate,
    auto_model,
    detections,
    load_ground_truth,
    phases,
    truth_crossing_events,
    write_section,
)
from edge.config import Settings
from edge.pipeline import build_tracker
from edge.records import Detections
from edge.track.matching import iou_matrix

WINDOW_S = 1.5
"""How far from the crossing a sighting still tells which side the person was on."""
TRACK_IOU = 0.4
"""A track follows a person when its (filtered) box overlaps the person's gt box this much."""
KINDS = ("same track", "swapped", "lost, restarted", "no track", "no detection")

Box = tuple[float, float, float, float]


def gt_crossings(clip: Clip) -> list[tuple[int, int]]:
    """(person id, frame index after the crossing) for every gt crossing of every line."""
    return [
        (event.person_id, event.frame_index)
        for line in clip.load_calibration().lines
        for event in truth_crossing_events(clip, line)
    ]


def _pairs(people: list[tuple[int, Box]], boxes: list[Box], min_iou: float) -> dict[int, int]:
    """Person id -> index of the box paired with them (one-to-one, largest total IoU)."""
    if not people or not boxes:
        return {}
    overlap = iou_matrix(np.array([box for _, box in people]), np.array(boxes, dtype=np.float64))
    rows, columns = linear_sum_assignment(-overlap)
    pairs = zip(rows.tolist(), columns.tolist(), strict=True)
    return {people[r][0]: c for r, c in pairs if overlap[r, c] >= min_iou}


def classify(clip: Clip, kept: list[Detections], crossings: list[tuple[int, int]]) -> Counter[str]:
    """How the real tracker handled each gt crossing on these kept frames."""
    truth_by_frame: dict[int, list[tuple[int, Box]]] = {}
    for truth in load_ground_truth(clip):
        truth_by_frame.setdefault(truth.frame_index, []).append((truth.person_id, truth.box))
    tracker = build_tracker(Settings())
    followed: dict[int, dict[int, int]] = {}  # frame -> person -> track id
    detected: dict[int, set[int]] = {}  # frame -> people the detector found
    for item in kept:
        people = truth_by_frame.get(item.frame_index, [])
        tracks = tracker.update(item).tracks
        paired = _pairs(people, [track.box for track in tracks], TRACK_IOU)
        followed[item.frame_index] = {person: int(tracks[i].track_id) for person, i in paired.items()}
        confident = item.scores >= MIN_SCORE
        found = _pairs(people, [tuple(box) for box in item.boxes[confident].tolist()], MIN_IOU)
        detected[item.frame_index] = set(found)
    frames = [item.frame_index for item in kept]
    window = round(WINDOW_S * clip.fps)
    kinds: Counter[str] = Counter()
    for person, frame in crossings:
        before = [k for k in frames if frame - window <= k < frame]
        after = [k for k in frames if frame <= k < frame + window]
        if not any(person in detected[k] for k in before) or not any(person in detected[k] for k in after):
            kinds["no detection"] += 1
            continue
        tracks_before = [followed[k][person] for k in before if person in followed[k]]
        tracks_after = [followed[k][person] for k in after if person in followed[k]]
        if not tracks_before or not tracks_after:
            kinds["no track"] += 1
        elif tracks_before[-1] == tracks_after[0]:
            kinds["same track"] += 1
        elif _went_on_with_someone_else(tracks_before[-1], person, [followed[k] for k in after]):
            kinds["swapped"] += 1
        else:
            kinds["lost, restarted"] += 1
    return kinds


def _went_on_with_someone_else(track_id: int, person: int, followed: list[dict[int, int]]) -> bool:
    """Whether ``track_id`` follows a person other than ``person`` in any of these frames."""
    return any(track == track_id and other != person for frame in followed for other, track in frame.items())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", action="append", help="only these clips (default: every clip)")
    parser.add_argument("--rate", action="append", type=float, help="rates (default: full, 5, 3, 2)")
    args = parser.parse_args()
    rates: list[float | None] = list(args.rate) if args.rate else [None, 5.0, 3.0, 2.0]
    lines = [
        "## Where crossings are lost (`benchmarks/losses.py`)",
        "",
        "Each ground-truth crossing, by what the real tracker did with that person within "
        f"{WINDOW_S:g} s of it, on YOLOX-Nano's boxes (default input and settings); crossings per run, "
        "mean over the phases of the detection schedule.",
        "",
        "| clip | rate | crossings | " + " | ".join(KINDS) + " |",
        "|---|---|---|" + "---|" * len(KINDS),
    ]
    for clip in CLIPS:
        if args.clip and clip.name not in args.clip:
            continue
        crossings = gt_crossings(clip)
        stream = detections(clip, model=auto_model(clip))
        for rate in rates:
            runs = [
                classify(clip, at_rate(stream, clip.fps, rate, phase), crossings)
                for phase in phases(clip.fps, rate)
            ]
            mean = {kind: float(np.mean([run[kind] for run in runs])) for kind in KINDS}
            cells = " | ".join(f"{mean[kind]:.1f}" for kind in KINDS)
            rate_text = "full" if rate is None else f"{rate:g}/s"
            line = f"| {clip.name} | {rate_text} | {len(crossings)} | {cells} |"
            print(line, flush=True)
            lines.append(line)
    write_section("losses", "\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
