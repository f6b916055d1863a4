"""SceneCounter: turns tracked frames into line crossings, zone occupancy and zone visits.

Positions are each track's foot point (`Track.foot`) divided by the frame size. Only observed
positions move a track along a line or in and out of a zone; predictions (``observed=False``)
only add to occupancy. A track that skips frames continues from its last observed point, so a
gap never loses a crossing.

Identity switches: when a track is first observed within ``handover_s`` of the last observation
of a track that has ended, vanished or is currently only predicted, and within
``handover_distance`` of where that track was last seen, the new track takes over the old one's
line sides, last position and open zone visits (the old one is forgotten). A person whose id
changes on the line is then counted once, not zero or two times, and a visit survives the
switch. So a track that ends is only finished once the handover window has passed without an
heir: then its visits are reported, with ``left_s`` the last time the person was seen inside,
and its lines are settled (`CountingLine.settle`: a crossing completed inside the hysteresis
band counts, at the time it is decided). `finish` settles and closes every track at once.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from edge.count.lines import CountingLine, LineTrackState
from edge.count.zones import CountingZone, OpenVisit
from edge.records import (
    CountEvents,
    Crossing,
    LineSpec,
    Point,
    Track,
    TrackedFrame,
    TrackId,
    ZoneOccupancy,
    ZoneSpec,
    ZoneVisit,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

logger = logging.getLogger(__name__)

DEFAULT_HYSTERESIS = 0.01
"""Half width of the no-decision band around lines (normalised units, ~6 px at 640 px): foot jitter."""
ABSENT_LIMIT_S = 10.0
"""A track absent from the tracker's output this long is over even if `ended` never named it."""
DEFAULT_HANDOVER_S = 1.0
"""Seconds after its last observation that a lost track may hand its state to a new track."""
DEFAULT_HANDOVER_DISTANCE = 0.05
"""Normalised distance between the old track's last point and the new track's first point."""


@dataclass(slots=True, eq=False)
class _TrackMemory:
    """What the counter remembers about one track (mutable, private to this module)."""

    track_id: TrackId
    lines: list[LineTrackState]
    visits: list[OpenVisit | None]
    last_point: Point | None = None
    last_observed_s: float = -math.inf


@dataclass(slots=True)
class _FrameOutput:
    """Events collected while one frame is processed."""

    frame_index: int
    timestamp_s: float
    crossings: list[Crossing] = field(default_factory=list)
    visits: list[ZoneVisit] = field(default_factory=list)


def _unique_ids(ids: Iterable[str], what: str) -> None:
    seen: set[str] = set()
    for item in ids:
        if item in seen:
            raise ValueError(f"{what}: duplicate id {item!r}")
        seen.add(item)


class SceneCounter:
    """Counts line crossings and zone visits for one camera, frame by frame.

    Example::

        counter = SceneCounter([LineSpec(LineId("door"), (0.0, 0.5), (1.0, 0.5))], [])
        for tracked in tracker_output:
            events = counter.update(tracked)
        tail = counter.finish(last_timestamp_s + frame_period_s)
    """

    def __init__(
        self,
        lines: Sequence[LineSpec],
        zones: Sequence[ZoneSpec],
        *,
        hysteresis: float = DEFAULT_HYSTERESIS,
        handover_s: float = DEFAULT_HANDOVER_S,
        handover_distance: float = DEFAULT_HANDOVER_DISTANCE,
    ) -> None:
        """Prepare the counter.

        Args:
            lines: calibrated counting lines.
            zones: calibrated zones.
            hysteresis: band around lines and zone outlines, normalised units (0 = plain rule).
            handover_s: how long a lost track's state may pass to a new track, seconds.
            handover_distance: how close the new track must start, normalised units.

        Raises:
            ValueError: naming the argument, for duplicate ids, degenerate shapes or negative
                parameters.
        """
        _unique_ids((line.line_id for line in lines), "lines")
        _unique_ids((zone.zone_id for zone in zones), "zones")
        if not handover_s >= 0.0:
            raise ValueError(f"handover_s must be >= 0, got {handover_s}")
        if not handover_distance >= 0.0:
            raise ValueError(f"handover_distance must be >= 0, got {handover_distance}")
        self._lines = tuple(CountingLine(spec, hysteresis=hysteresis) for spec in lines)
        self._zones = tuple(CountingZone(spec, hysteresis=hysteresis) for spec in zones)
        self._handover_s = handover_s
        self._handover_distance = handover_distance
        self._active: dict[TrackId, _TrackMemory] = {}
        self._departed: list[_TrackMemory] = []
        self._last_timestamp_s = -math.inf
        self._last_frame_index = -1

    def update(self, tracked: TrackedFrame) -> CountEvents:
        """Count one frame.

        Args:
            tracked: the tracker's output for the frame; timestamps must not go backwards.

        Returns:
            Crossings and visits that completed in this frame and the occupancy of every zone.

        Raises:
            ValueError: if the frame size is not positive, time goes backwards, or a track id
                appears twice in the frame.
        """
        if tracked.width <= 0 or tracked.height <= 0:
            raise ValueError(f"tracked: frame size must be positive, got {tracked.width}x{tracked.height}")
        points = self._foot_points(tracked)
        self._advance_clock(tracked.timestamp_s, "tracked.timestamp_s")
        self._last_frame_index = tracked.frame_index
        out = _FrameOutput(tracked.frame_index, tracked.timestamp_s)
        # A track missing from one frame's output (unseen for longer than the tracker reports
        # predictions, e.g. between two detections at 1.5/s) is not over until the tracker says
        # so in `ended`: if its id comes back, it carries on from its last point.
        for track_id, memory in list(self._active.items()):
            if track_id not in points and tracked.timestamp_s - memory.last_observed_s > ABSENT_LIMIT_S:
                self._depart(track_id)
        first_seen = self._move_known_tracks(tracked, points, out)
        self._hand_over(first_seen, tracked)
        for memory, point, origin in first_seen:
            if memory.last_point is None and origin is not None:
                # Born this frame: start where it was first seen while tentative, so a line it
                # crossed before the tracker confirmed it still counts (once: nobody else had it).
                self._observe(memory, origin, out)
            self._observe(memory, point, out)
        for track_id in tracked.ended:
            if track_id in self._active:
                self._depart(track_id)
        self._expire(tracked.timestamp_s, out)
        occupancy = tuple(
            ZoneOccupancy(zone.spec.zone_id, tracked.timestamp_s, sum(map(zone.contains, points.values())))
            for zone in self._zones
        )
        return CountEvents(
            out.frame_index, out.timestamp_s, tuple(out.crossings), occupancy, tuple(out.visits)
        )

    def _move_known_tracks(
        self, tracked: TrackedFrame, points: dict[TrackId, Point], out: _FrameOutput
    ) -> list[tuple[_TrackMemory, Point, Point | None]]:
        """Observe the tracks seen before; return the first sightings (memory, point, origin)."""
        first_seen: list[tuple[_TrackMemory, Point, Point | None]] = []
        for track in tracked.tracks:
            memory = self._active.get(track.track_id)
            if memory is None:
                memory = self._new_memory(track.track_id)
                self._active[track.track_id] = memory
            if not track.observed:
                continue
            if memory.last_point is None:
                origin = None
                if track.origin_foot is not None:
                    origin = (track.origin_foot[0] / tracked.width, track.origin_foot[1] / tracked.height)
                first_seen.append((memory, points[track.track_id], origin))
            else:
                self._observe(memory, points[track.track_id], out)
        return first_seen

    def finish(self, timestamp_s: float) -> CountEvents:
        """End the stream: close every open visit and forget all tracks.

        Args:
            timestamp_s: media time at which the stream ended (usually the last frame's time
                plus one frame period); visits of people still present end here.

        Returns:
            Events with the closed visits and settled crossings, no occupancy samples; its
            ``frame_index`` is the last frame's index (-1 if no frame was seen).

        Raises:
            ValueError: if ``timestamp_s`` is before the last frame.
        """
        self._advance_clock(timestamp_s, "timestamp_s")
        out = _FrameOutput(self._last_frame_index, timestamp_s)
        for memory in self._active.values():
            self._retire(memory, out, left_s=timestamp_s)
        for memory in self._departed:
            self._retire(memory, out, left_s=None)
        self._active.clear()
        self._departed.clear()
        return CountEvents(out.frame_index, timestamp_s, tuple(out.crossings), (), tuple(out.visits))

    def _advance_clock(self, timestamp_s: float, argument: str) -> None:
        if not timestamp_s >= self._last_timestamp_s:
            raise ValueError(f"{argument} went backwards: {timestamp_s} < {self._last_timestamp_s}")
        self._last_timestamp_s = timestamp_s

    @staticmethod
    def _foot_points(tracked: TrackedFrame) -> dict[TrackId, Point]:
        points: dict[TrackId, Point] = {}
        for track in tracked.tracks:
            if track.track_id in points:
                raise ValueError(f"tracked: track id {track.track_id} appears twice")
            points[track.track_id] = _normalised_foot(track, tracked.width, tracked.height)
        return points

    def _new_memory(self, track_id: TrackId) -> _TrackMemory:
        return _TrackMemory(track_id, [LineTrackState()] * len(self._lines), [None] * len(self._zones))

    def _observe(self, memory: _TrackMemory, point: Point, out: _FrameOutput) -> None:
        """Move a track to a newly observed point; record crossings and finished visits."""
        previous = memory.last_point
        for index, line in enumerate(self._lines):
            if previous is None:
                memory.lines[index] = line.start(point)
                continue
            memory.lines[index], direction = line.advance(memory.lines[index], previous, point)
            if direction is not None:
                out.crossings.append(Crossing(line.spec.line_id, direction, out.timestamp_s, out.frame_index))
        for index, zone in enumerate(self._zones):
            memory.visits[index], finished = zone.advance(memory.visits[index], point, out.timestamp_s)
            if finished is not None:
                out.visits.append(ZoneVisit(zone.spec.zone_id, finished.entered_s, finished.last_inside_s))
        memory.last_point = point
        memory.last_observed_s = out.timestamp_s

    def _depart(self, track_id: TrackId) -> None:
        memory = self._active.pop(track_id)
        if memory.last_point is not None:
            self._departed.append(memory)

    def _hand_over(
        self, first_seen: list[tuple[_TrackMemory, Point, Point | None]], tracked: TrackedFrame
    ) -> None:
        """Give newly observed tracks the state of nearby tracks that were just lost.

        Pairs are matched greedily, nearest first; a track returning under its own id (after
        vanishing from the tracker's output) always gets its own state back.
        """
        if not first_seen:
            return
        now = tracked.timestamp_s
        observed = {track.track_id for track in tracked.tracks if track.observed}
        candidates = self._departed + [m for tid, m in self._active.items() if tid not in observed]
        donors = [
            (m, m.last_point)
            for m in candidates
            if m.last_point is not None and now - m.last_observed_s <= self._handover_s
        ]
        pairs: list[tuple[bool, float, int, int]] = []
        for new_index, (memory, point, origin) in enumerate(first_seen):
            start = point if origin is None else origin
            for donor_index, (donor, donor_point) in enumerate(donors):
                gap = math.dist(start, donor_point)
                same_id = donor.track_id == memory.track_id
                if same_id or gap <= self._handover_distance:
                    pairs.append((not same_id, gap, new_index, donor_index))
        taken_new: set[int] = set()
        taken_donor: set[int] = set()
        for _, _, new_index, donor_index in sorted(pairs):
            if new_index in taken_new or donor_index in taken_donor:
                continue
            taken_new.add(new_index)
            taken_donor.add(donor_index)
            self._inherit(first_seen[new_index][0], donors[donor_index][0])

    def _inherit(self, heir: _TrackMemory, donor: _TrackMemory) -> None:
        logger.debug("track %s takes over from lost track %s", heir.track_id, donor.track_id)
        heir.lines = donor.lines
        heir.visits = donor.visits
        heir.last_point = donor.last_point
        heir.last_observed_s = donor.last_observed_s
        self._departed = [m for m in self._departed if m is not donor]
        if self._active.get(donor.track_id) is donor:
            del self._active[donor.track_id]

    def _expire(self, now_s: float, out: _FrameOutput) -> None:
        """Forget departed tracks whose handover window has passed; report their visits."""
        keep: list[_TrackMemory] = []
        for memory in self._departed:
            if now_s - memory.last_observed_s > self._handover_s:
                self._retire(memory, out, left_s=None)
            else:
                keep.append(memory)
        self._departed = keep

    def _retire(self, memory: _TrackMemory, out: _FrameOutput, *, left_s: float | None) -> None:
        """Settle a finished track's lines and report its open visits.

        ``left_s=None`` means "when the person was last seen inside".
        """
        if memory.last_point is not None:
            for index, line in enumerate(self._lines):
                memory.lines[index], direction = line.settle(memory.lines[index], memory.last_point)
                if direction is not None:
                    out.crossings.append(
                        Crossing(line.spec.line_id, direction, out.timestamp_s, out.frame_index)
                    )
        for index, visit in enumerate(memory.visits):
            if visit is None:
                continue
            end_s = visit.last_inside_s if left_s is None else left_s
            out.visits.append(ZoneVisit(self._zones[index].spec.zone_id, visit.entered_s, end_s))
            memory.visits[index] = None


def _normalised_foot(track: Track, width: int, height: int) -> Point:
    foot_x, foot_y = track.foot
    return (foot_x / width, foot_y / height)
