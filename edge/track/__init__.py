"""Person tracking: `Detections` in, `TrackedFrame` (stable per-person ids) out.

Owns association (ByteTrack-style, with scipy's assignment solver) and the batched Kalman
filter. Time is media time from `Detections.timestamp_s`, so behaviour does not depend on the
frame rate. Must NOT detect, count, read settings, keep images or touch disk or network; ids are
per tracker instance and never leave the device.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from edge.track.bytetrack import ByteTracker

if TYPE_CHECKING:
    from edge.records import Detections, TrackedFrame

__all__ = ["ByteTracker", "Tracker"]


class Tracker(Protocol):
    """Links each frame's detections to persistent track ids."""

    def update(self, detections: Detections) -> TrackedFrame:
        """Return the confirmed tracks in this frame and the ids that ended in it."""
        ...
