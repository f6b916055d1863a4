"""`LiveViewRecorder`: what the calibration page's live view draws over the anonymised snapshot.

Where each tracked person is now (a box and a short trail of foot points), how many people each
zone holds, and the last crossings. Kept in memory for the live view only: never stored, logged or
published (README D-052); a trail is dropped as soon as its track ends, and track ids stay here.
Thread-safe: the counting thread records, the API thread reads.
"""

from __future__ import annotations

import threading
from collections import deque
from datetime import datetime

from edge.records import (
    CountEvents,
    LiveCrossing,
    LivePerson,
    LiveView,
    Point,
    TrackedFrame,
    TrackId,
    ZoneId,
)

TRAIL_POINTS = 12
"""Foot points per trail: a few seconds at the 3-10 detections per second of a Pi."""
MAX_CROSSINGS = 20
"""Crossings kept for the log: enough to test a line on site, short enough to read."""


class LiveViewRecorder:
    """Keeps the newest positions, occupancy and crossings; `view` gives a copy."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._boxes: dict[TrackId, tuple[float, float, float, float]] = {}
        self._trails: dict[TrackId, deque[Point]] = {}
        self._occupancy: tuple[tuple[ZoneId, int], ...] = ()
        self._crossings: deque[LiveCrossing] = deque(maxlen=MAX_CROSSINGS)

    def track(self, tracked: TrackedFrame) -> None:
        """The tracks of a frame the detector ran on; tracks no longer alive are forgotten."""
        width, height = max(tracked.width, 1), max(tracked.height, 1)
        alive = {track.track_id for track in tracked.tracks}
        with self._lock:
            for gone in [track_id for track_id in self._trails if track_id not in alive]:
                del self._trails[gone]
                self._boxes.pop(gone, None)
            for track in tracked.tracks:
                left, top, right, bottom = track.box
                self._boxes[track.track_id] = (left / width, top / height, right / width, bottom / height)
                foot_x, foot_y = track.foot
                trail = self._trails.setdefault(track.track_id, deque(maxlen=TRAIL_POINTS))
                trail.append((foot_x / width, foot_y / height))

    def count(self, events: CountEvents, at: datetime) -> None:
        """A frame's crossings (stamped `at`, UTC) and zone occupancy."""
        with self._lock:
            self._occupancy = tuple((sample.zone_id, sample.people) for sample in events.occupancy)
            for crossing in events.crossings:
                self._crossings.append(LiveCrossing(at, crossing.line_id, crossing.direction))

    def view(self) -> LiveView:
        with self._lock:
            people = tuple(
                LivePerson(self._boxes[track_id], tuple(trail)) for track_id, trail in self._trails.items()
            )
            return LiveView(people, self._occupancy, tuple(reversed(self._crossings)))
