"""Counting real pedestrians: MOT ground-truth tracks through SceneCounter vs the data README.

The truth table in ``../shared/data/README.md`` was computed from the gt files with the plain
rule (every sign change of s across the segment counts). The counter, with its hysteresis band
and identity handover at their defaults, must reproduce it on the clean gt, and keep reproducing
it when the gt is roughened like a real detector and tracker would (jitter, missed detections,
id switches), where the plain rule goes wrong.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

from edge.aggregate import CountTotals
from edge.calibration import load_calibration
from edge.count import SceneCounter
from edge.records import Track, TrackedFrame, TrackId

PROJECT_ROOT = Path(__file__).resolve().parents[3]
DATA = PROJECT_ROOT / ".." / "shared" / "data"
EXAMPLES = PROJECT_ROOT / "calibration" / "examples"

Box = tuple[float, float, float, float]
GtTracks = dict[int, dict[int, Box]]


@dataclass(frozen=True, slots=True)
class Clip:
    gt_file: str
    width: int
    height: int
    fps: float
    keep_all_rows: bool
    calibration: str
    truth: dict[str, tuple[int, int]]


# Truth from ../shared/data/README.md, "Line-crossing truth".
PETS_S2L1 = Clip(
    "PETS09-S2L1-300/gt/gt.txt",
    768,
    576,
    7.0,
    False,
    "pets09-s2l1.json",
    {"vertical": (7, 2), "horizontal": (3, 9)},
)
PETS_S3_MF1 = Clip("PETS09-S3-MF1/gt/gt.txt", 768, 576, 7.0, True, "pets09-s3-mf1.json", {"crossing": (0, 7)})
TUD_CAMPUS = Clip(
    "TUD-Campus/gt_mot15/gt.txt", 640, 480, 25.0, False, "tud-campus.json", {"vertical": (1, 4)}
)


def read_gt(clip: Clip) -> GtTracks:
    """MOT gt rows ``frame,id,left,top,width,height,conf,...`` as {id: {frame: box}}."""
    gt_path = DATA / clip.gt_file
    if not gt_path.is_file():
        pytest.fail(f"shared ground truth not found at {gt_path}")
    tracks: GtTracks = defaultdict(dict)
    for row in gt_path.read_text().splitlines():
        fields = row.split(",")
        if len(fields) < 7 or (not clip.keep_all_rows and float(fields[6]) == 0.0):
            continue
        frame, track_id = int(float(fields[0])), int(float(fields[1]))
        left, top, width, height = (float(value) for value in fields[2:6])
        tracks[track_id][frame] = (left, top, left + width, top + height)
    return dict(tracks)


def tracked_frames(tracks: GtTracks, clip: Clip) -> list[TrackedFrame]:
    """What a perfect tracker would report: gaps are predictions, a track ends after its last row."""
    spans = {track_id: (min(rows), max(rows)) for track_id, rows in tracks.items() if rows}
    last_frame = max(last for _, last in spans.values())
    latest: dict[int, Box] = {}
    frames = []
    for frame in range(1, last_frame + 2):
        alive: list[Track] = []
        ended: list[TrackId] = []
        for track_id, (first, last) in spans.items():
            if first <= frame <= last:
                box = tracks[track_id].get(frame)
                if box is not None:
                    latest[track_id] = box
                alive.append(Track(TrackId(track_id), latest[track_id], 1.0, observed=box is not None))
            elif frame == last + 1:
                ended.append(TrackId(track_id))
        frames.append(
            TrackedFrame(
                frame - 1, (frame - 1) / clip.fps, clip.width, clip.height, tuple(alive), tuple(ended)
            )
        )
    return frames


def count(tracks: GtTracks, clip: Clip, **options: float) -> dict[str, tuple[int, int]]:
    calibration = load_calibration(EXAMPLES / clip.calibration)
    counter = SceneCounter(calibration.lines, calibration.zones, **options)
    totals = CountTotals(
        [line.line_id for line in calibration.lines], [zone.zone_id for zone in calibration.zones]
    )
    frames = tracked_frames(tracks, clip)
    for frame in frames:
        totals.add(counter.update(frame))
    totals.add(counter.finish(frames[-1].timestamp_s + 1.0 / clip.fps))
    return {line.line_id: (line.in_count, line.out_count) for line in totals.summary().lines}


def roughen(
    tracks: GtTracks, seed: int, *, jitter_px: float, miss_rate: float, switch_rate: float
) -> GtTracks:
    """Jitter every box, drop some detections, and give tracks new ids at random moments."""
    rng = random.Random(seed)
    rough: GtTracks = defaultdict(dict)
    next_id = 1 + max(tracks)
    for track_id, rows in tracks.items():
        current = track_id
        for frame in sorted(rows):
            if rng.random() < switch_rate:
                current, next_id = next_id, next_id + 1
            if rng.random() < miss_rate:
                continue
            dx, dy = rng.gauss(0.0, jitter_px), rng.gauss(0.0, jitter_px)
            left, top, right, bottom = rows[frame]
            rough[current][frame] = (left + dx, top + dy, right + dx, bottom + dy)
    return dict(rough)


@pytest.mark.parametrize(
    "clip", [PETS_S2L1, PETS_S3_MF1, TUD_CAMPUS], ids=["pets09-s2l1", "pets09-s3-mf1", "tud-campus"]
)
def test_defaults_reproduce_the_truth_table(clip: Clip) -> None:
    assert count(read_gt(clip), clip) == clip.truth


@pytest.mark.parametrize(
    "clip", [PETS_S2L1, PETS_S3_MF1, TUD_CAMPUS], ids=["pets09-s2l1", "pets09-s3-mf1", "tud-campus"]
)
def test_plain_rule_reproduces_the_truth_table(clip: Clip) -> None:
    assert count(read_gt(clip), clip, hysteresis=0.0, handover_s=0.0) == clip.truth


@pytest.mark.parametrize("seed", range(4))
def test_roughened_tracks_still_give_the_truth(seed: int) -> None:
    """2 px jitter, 10 % missed detections, 3 % id switches per frame on PETS09-S2L1."""
    rough = roughen(read_gt(PETS_S2L1), seed, jitter_px=2.0, miss_rate=0.1, switch_rate=0.03)
    assert count(rough, PETS_S2L1) == PETS_S2L1.truth
    # The roughening is not harmless: the plain rule gets it wrong.
    assert count(rough, PETS_S2L1, hysteresis=0.0, handover_s=0.0) != PETS_S2L1.truth


def test_tud_stadtmitte_crossing_totals() -> None:
    """TUD-Stadtmitte/SOURCE.txt: 2 crossings of x = 320 px and 3 of y = 300 px (directions not given).

    One person crosses y = 300 px and their gt ends 3 px past it, inside the hysteresis band:
    the crossing must still count (it is settled when the track ends).
    """
    clip = Clip("TUD-Stadtmitte/gt/gt.txt", 640, 480, 25.0, False, "tud-stadtmitte.json", {})
    counts = count(read_gt(clip), clip)
    assert {line_id: sum(pair) for line_id, pair in counts.items()} == {"vertical": 2, "horizontal": 3}
