"""Counting: line crossings, zone occupancy and zone visits from tracked frames.

Owns the geometry (`geometry`), the per-track crossing rule with hysteresis (`lines`), zone
membership (`zones`) and the per-camera state machine with identity handover (`scene`). Adding
events up into totals is `edge.aggregate`'s job, not this package's. Pure computation on
`edge.records`: count/ never touches the network or disk, never reads settings or calibration
files (callers pass `LineSpec`/`ZoneSpec`), never imports other pipeline stages, and depends only
on numpy.

Direction convention: for a line A -> B, ``s(P) = (Bx-Ax)(Py-Ay) - (By-Ay)(Px-Ax)`` going from
negative to positive is IN, positive to negative is OUT (see `edge.count.lines`).
"""

from __future__ import annotations

from edge.count.geometry import (
    point_in_polygon,
    polygon_area,
    polygon_self_intersection,
    polygon_self_intersects,
    segments_intersect,
    side,
    signed_distance,
)
from edge.count.lines import CountingLine, LineTrackState
from edge.count.scene import (
    DEFAULT_HANDOVER_DISTANCE,
    DEFAULT_HANDOVER_S,
    DEFAULT_HYSTERESIS,
    SceneCounter,
)
from edge.count.zones import CountingZone, OpenVisit

__all__ = [
    "DEFAULT_HANDOVER_DISTANCE",
    "DEFAULT_HANDOVER_S",
    "DEFAULT_HYSTERESIS",
    "CountingLine",
    "CountingZone",
    "LineTrackState",
    "OpenVisit",
    "SceneCounter",
    "point_in_polygon",
    "polygon_area",
    "polygon_self_intersection",
    "polygon_self_intersects",
    "segments_intersect",
    "side",
    "signed_distance",
]
