"""Tracker + line counter cost per frame: ours against supervision 0.30.9's ByteTrack + LineZone.

Both are fed the same synthetic detection streams: N people (5 to 200) walking across a 1920x1080
frame at 10 fps, with box jitter, varied scores and 5% missed detections, one counting line.
Reports microseconds per frame for each, their ratio, and how cost grows with N. Both run in this
process, alternately, so the ratio is fair on a shared machine.

    python -m benchmarks.tracking [--frames N] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from typing import Any

import numpy as np
import supervision as sv

from benchmarks.clips import machine_line, write_section
from edge.count import SceneCounter
from edge.records import Detections, LineId, LineSpec
from edge.track import ByteTracker

PEOPLE = (5, 20, 50, 100, 200)
WIDTH, HEIGHT, FPS = 1920, 1080, 10.0
LINE = LineSpec(LineId("street"), (0.0, 0.5), (1.0, 0.5))


def synthetic_stream(people: int, frames: int, seed: int = 0) -> list[Detections]:
    """People walking in straight lines at 0.5-1.5 m/s-like speeds, re-entering when they leave."""
    rng = np.random.default_rng(seed)
    size = rng.uniform(0.6, 1.4, people)[:, None] * np.array([40.0, 100.0])
    position = rng.uniform((0, 0), (WIDTH, HEIGHT), (people, 2))
    velocity = rng.normal(0.0, 1.0, (people, 2)) * np.array([12.0, 8.0])
    stream = []
    for index in range(frames):
        position = (position + velocity) % (WIDTH, HEIGHT)
        centre = position + rng.normal(0.0, 1.5, position.shape)
        boxes = np.hstack((centre - size / 2, centre + size / 2)).astype(np.float32)
        scores = np.clip(rng.normal(0.7, 0.15, people), 0.05, 0.99).astype(np.float32)
        seen = rng.random(people) >= 0.05
        stream.append(Detections(index, index / FPS, WIDTH, HEIGHT, boxes[seen], scores[seen]))
    return stream


def time_ours(stream: list[Detections]) -> float:
    tracker = ByteTracker()
    counter = SceneCounter([LINE], [])
    started = time.perf_counter()
    for detections in stream:
        counter.update(tracker.update(detections))
    return (time.perf_counter() - started) / len(stream) * 1e6


def time_supervision(stream: list[Detections]) -> float:
    tracker = sv.ByteTrack(frame_rate=round(FPS))
    zone = sv.LineZone(
        start=sv.Point(0, HEIGHT / 2),
        end=sv.Point(WIDTH, HEIGHT / 2),
        triggering_anchors=[sv.Position.BOTTOM_CENTER],
    )
    converted = [
        sv.Detections(
            xyxy=d.boxes.astype(np.float64),
            confidence=d.scores.astype(np.float64),
            class_id=np.zeros(len(d), dtype=int),
        )
        for d in stream
    ]
    started = time.perf_counter()
    for detections in converted:
        zone.trigger(tracker.update_with_detections(detections))
    return (time.perf_counter() - started) / len(stream) * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300, help="frames per stream")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; the best is kept")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=FutureWarning)  # sv.ByteTrack is deprecated upstream
    rows = []
    for people in PEOPLE:
        stream = synthetic_stream(people, args.frames)
        ours, peer = [], []
        for _ in range(args.rounds):
            ours.append(time_ours(stream))
            peer.append(time_supervision(stream))
        rows.append(
            {
                "people": people,
                "ours_us": round(min(ours), 1),
                "supervision_us": round(min(peer), 1),
                "speedup": round(min(peer) / min(ours), 2),
            }
        )
    result: dict[str, Any] = {"machine": machine_line(), "frames": args.frames, "rows": rows}
    write_section("tracking", to_markdown(result))
    print(json.dumps(result) if args.json else to_markdown(result))
    return 0


def to_markdown(result: dict[str, Any]) -> str:
    out = [
        "## Tracker + line counter (`benchmarks/tracking.py`)",
        "",
        f"Measured {result['machine']}. Synthetic streams of {result['frames']} frames at 10 fps, one line; "
        "best of alternating rounds. supervision = 0.30.9 `ByteTrack` + `LineZone`.",
        "",
        "| people/frame | ours µs/frame | supervision µs/frame | ours is faster by |",
        "|---|---|---|---|",
    ]
    for row in result["rows"]:
        figures = f"{row['ours_us']:.0f} | {row['supervision_us']:.0f} | {row['speedup']:.1f}x"
        out.append(f"| {row['people']} | {figures} |")
    first, last = result["rows"][0], result["rows"][-1]
    growth = last["people"] / first["people"]
    out += [
        "",
        f"From {first['people']} to {last['people']} people ({growth:.0f}x): ours costs "
        f"{last['ours_us'] / first['ours_us']:.1f}x more, "
        f"supervision {last['supervision_us'] / first['supervision_us']:.1f}x.",
    ]
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
