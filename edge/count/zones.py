"""Zones: is a foot point inside a calibrated polygon, with hysteresis for leaving.

Occupancy uses the plain inside test. Visits use hysteresis: a track enters when its foot point
is inside the polygon and leaves only when it is outside *and* farther than ``hysteresis`` from
the outline, so a person standing on the edge of a zone makes one visit, not many short ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from edge.count.geometry import point_in_polygon, polygon_distance

if TYPE_CHECKING:
    from edge.records import Point, ZoneSpec


@dataclass(frozen=True, slots=True)
class OpenVisit:
    """A visit in progress.

    Attributes:
        entered_s: media time of the first observed point inside the zone.
        last_inside_s: media time of the latest observed point that still counted as inside.
    """

    entered_s: float
    last_inside_s: float


class CountingZone:
    """One calibrated zone with its leave hysteresis."""

    def __init__(self, spec: ZoneSpec, *, hysteresis: float) -> None:
        """Prepare the zone.

        Args:
            spec: the calibrated zone (a simple polygon, validated by `edge.calibration`).
            hysteresis: how far outside the outline (normalised units) a point may be and still
                keep an open visit going.

        Raises:
            ValueError: if the polygon has fewer than 3 points or ``hysteresis`` is negative.
        """
        if len(spec.polygon) < 3:
            raise ValueError(f"spec: zone {spec.zone_id!r} needs at least 3 points")
        if not hysteresis >= 0.0:
            raise ValueError(f"hysteresis must be >= 0, got {hysteresis}")
        self.spec = spec
        self._band = hysteresis

    def contains(self, point: Point) -> bool:
        """Plain inside test, used for occupancy."""
        return point_in_polygon(point, self.spec.polygon)

    def advance(
        self, visit: OpenVisit | None, point: Point, timestamp_s: float
    ) -> tuple[OpenVisit | None, OpenVisit | None]:
        """Update a track's visit with an observed foot point.

        Args:
            visit: the track's open visit, or None if it is not in the zone.
            point: the observed foot point.
            timestamp_s: media time of the observation.

        Returns:
            ``(open_visit, finished_visit)``: the visit still in progress (or None) and a visit
            that ended with this observation (or None). A finished visit's ``last_inside_s`` is
            set to ``timestamp_s``: the person was seen outside at that time.
        """
        if self.contains(point):
            entered_s = timestamp_s if visit is None else visit.entered_s
            return OpenVisit(entered_s, timestamp_s), None
        if visit is None:
            return None, None
        if polygon_distance(point, self.spec.polygon) <= self._band:
            return OpenVisit(visit.entered_s, timestamp_s), None
        return None, OpenVisit(visit.entered_s, timestamp_s)
