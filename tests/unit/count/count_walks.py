"""Test helpers: describe people's foot points per frame, turn them into `TrackedFrame`s, count.

A *walk* maps a track id to one entry per frame: an ``(x, y)`` normalised foot point (observed),
`Predicted` (the tracker's guess while the person is unseen), or None (not in that frame's
output). A track is reported as ended in the frame after its last entry unless told otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from edge.aggregate import CountSummary, CountTotals
from edge.count import SceneCounter
from edge.records import (
    CountEvents,
    LineId,
    LineSpec,
    Point,
    Track,
    TrackedFrame,
    TrackId,
    ZoneId,
    ZoneSpec,
)

WIDTH_PX = 1024
HEIGHT_PX = 512
"""Powers of two, so normalised -> pixels -> normalised is exact and property tests see their points."""


@dataclass(frozen=True, slots=True)
class Predicted:
    """A position the tracker predicts while the person is not detected."""

    x: float
    y: float


Step = Point | Predicted | None
Walks = Mapping[int, Sequence[Step]]


def line(a: Point, b: Point, line_id: str = "line") -> LineSpec:
    return LineSpec(LineId(line_id), a, b)


def zone(polygon: Sequence[Point], zone_id: str = "zone") -> ZoneSpec:
    return ZoneSpec(ZoneId(zone_id), tuple(polygon))


def track_at(track_id: int, x: float, y: float, *, observed: bool = True) -> Track:
    """A track whose foot point is at normalised ``(x, y)``.

    The box has zero width so that its bottom centre is exactly the given point (a real width
    would round the foot point in the last bit, which property tests near the line notice).
    """
    foot_x, foot_y = x * WIDTH_PX, y * HEIGHT_PX
    return Track(TrackId(track_id), (foot_x, foot_y - 100.0, foot_x, foot_y), 0.9, observed)


def frames_from_walks(
    walks: Walks, *, fps: float = 10.0, end_tracks: bool = True, start_s: float = 0.0
) -> list[TrackedFrame]:
    """One `TrackedFrame` per frame index covered by the walks (plus one to end the tracks)."""
    length = max((len(steps) for steps in walks.values()), default=0)
    last_step = {
        tid: max((i for i, s in enumerate(steps) if s is not None), default=-1)
        for tid, steps in walks.items()
    }
    frames = []
    for index in range(length + (1 if end_tracks else 0)):
        tracks = []
        ended = []
        for track_id, steps in walks.items():
            step = steps[index] if index < len(steps) else None
            if isinstance(step, Predicted):
                tracks.append(track_at(track_id, step.x, step.y, observed=False))
            elif step is not None:
                tracks.append(track_at(track_id, step[0], step[1]))
            if end_tracks and index == last_step[track_id] + 1:
                ended.append(TrackId(track_id))
        frames.append(
            TrackedFrame(index, start_s + index / fps, WIDTH_PX, HEIGHT_PX, tuple(tracks), tuple(ended))
        )
    return frames


def run_counter(
    counter: SceneCounter, frames: Sequence[TrackedFrame], *, fps: float = 10.0
) -> list[CountEvents]:
    """Feed every frame, then finish one frame period after the last one."""
    events = [counter.update(frame) for frame in frames]
    end_s = frames[-1].timestamp_s + 1.0 / fps if frames else 0.0
    events.append(counter.finish(end_s))
    return events


def summarise(
    lines: Sequence[LineSpec], zones: Sequence[ZoneSpec], events: Sequence[CountEvents]
) -> CountSummary:
    totals = CountTotals([spec.line_id for spec in lines], [spec.zone_id for spec in zones])
    for item in events:
        totals.add(item)
    return totals.summary()


def count_walks(
    lines: Sequence[LineSpec],
    walks: Walks,
    *,
    fps: float = 10.0,
    zones: Sequence[ZoneSpec] = (),
    options: Mapping[str, float] | None = None,
) -> CountSummary:
    """Count the walks with a fresh `SceneCounter` (``options`` are its keyword arguments)."""
    counter = SceneCounter(lines, zones, **(options or {}))
    return summarise(lines, zones, run_counter(counter, frames_from_walks(walks, fps=fps), fps=fps))


def in_out(summary: CountSummary, line_id: str = "line") -> tuple[int, int]:
    totals = summary.line(line_id)
    return (totals.in_count, totals.out_count)


def straight(start: Point, end: Point, steps: int) -> list[Step]:
    """``steps + 1`` evenly spaced observed points from ``start`` to ``end``."""
    return [
        (start[0] + (end[0] - start[0]) * i / steps, start[1] + (end[1] - start[1]) * i / steps)
        for i in range(steps + 1)
    ]
