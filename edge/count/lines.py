"""Line crossing for one track: a hysteresis state machine over observed foot points.

Sign convention (shared with the data README): for a line from A to B in normalised image
coordinates, ``s(P) = (Bx-Ax)(Py-Ay) - (By-Ay)(Px-Ax)``; ``s`` going from negative to positive
is `Direction.IN`, positive to negative is `Direction.OUT`. With y pointing down, for
``A=(0, .5) -> B=(1, .5)`` walking down the image is IN; for ``A=(.5, 0) -> B=(.5, 1)`` walking
from right to left is IN.

The rule, per track and line:

* A track's *committed side* changes only when its foot point is farther than ``hysteresis``
  from the line (perpendicular distance, normalised units). A track born inside that band takes
  the side its first point is on, so a person first seen just before the line still counts when
  they step over it.
* Every step between two consecutive *observed* points is tested against the segment A B (not
  the infinite line). A crossing is counted when the committed side flips and at least one step
  since the last commitment touched the segment. So jitter around the line counts at most one
  net crossing, a big jump over the line between two frames still counts, and walking around an
  end of the segment counts nothing.
* Returning to the committed side outside the band forgets earlier segment touches.
* When a track ends for good (see `edge.count.scene`) while still inside the band, it is
  *settled*: if it touched the segment and its last point is strictly on the other side, the
  crossing counts. People who vanish right after stepping over a line (a doorway, the frame
  edge) are then counted as the plain rule would; on PETS/TUD ground truth this matters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from edge.count.geometry import segments_intersect, side
from edge.records import Direction, LineSpec, Point


@dataclass(frozen=True, slots=True)
class LineTrackState:
    """Where one track stands relative to one line.

    Attributes:
        committed: +1 or -1 for the side (sign of `edge.count.geometry.side`) the track last
            committed to, 0 while it has none (born exactly on the line).
        touched: True if a step since the last commitment touched the segment.
    """

    committed: int = 0
    touched: bool = False


class CountingLine:
    """One calibrated line with its hysteresis band.

    Stateless about tracks: callers keep one `LineTrackState` per track and pass it back in.
    """

    def __init__(self, spec: LineSpec, *, hysteresis: float) -> None:
        """Prepare the line.

        Args:
            spec: the calibrated line.
            hysteresis: half width of the band around the line, in normalised units, inside
                which a track does not change its committed side. 0 gives the plain rule.

        Raises:
            ValueError: if the line has zero length or ``hysteresis`` is negative.
        """
        self.spec = spec
        self._length = math.hypot(spec.b[0] - spec.a[0], spec.b[1] - spec.a[1])
        if self._length == 0.0:
            raise ValueError(f"spec: line {spec.line_id!r} has zero length")
        if not hysteresis >= 0.0:
            raise ValueError(f"hysteresis must be >= 0, got {hysteresis}")
        self._band = hysteresis

    def distance(self, point: Point) -> float:
        """Signed perpendicular distance of ``point`` from the line (sign as `side`)."""
        return side(self.spec.a, self.spec.b, point) / self._length

    def _zone_of(self, point: Point) -> int:
        """+1 or -1 beyond the band on that side, 0 inside the band."""
        distance = self.distance(point)
        if distance > self._band:
            return 1
        if distance < -self._band:
            return -1
        return 0

    def _strict_side(self, point: Point) -> int:
        distance = self.distance(point)
        return (distance > 0.0) - (distance < 0.0)

    def start(self, point: Point) -> LineTrackState:
        """State of a track first observed at ``point`` (it commits to the side it is on)."""
        return LineTrackState(committed=self._strict_side(point))

    def advance(
        self, state: LineTrackState, previous: Point, current: Point
    ) -> tuple[LineTrackState, Direction | None]:
        """Move a track from its previous observed point to ``current``.

        Args:
            state: the track's state after ``previous``.
            previous: the last observed foot point (frames in between may be missing).
            current: the newly observed foot point.

        Returns:
            The new state and the direction of a counted crossing, or None.
        """
        touched = state.touched or segments_intersect(previous, current, self.spec.a, self.spec.b)
        zone = self._zone_of(current)
        if zone == 0:
            return LineTrackState(state.committed, touched), None
        if zone == state.committed:
            return LineTrackState(zone, touched=False), None
        direction: Direction | None = None
        if state.committed != 0 and touched:
            direction = Direction.IN if zone > 0 else Direction.OUT
        return LineTrackState(zone, touched=False), direction

    def settle(self, state: LineTrackState, last: Point) -> tuple[LineTrackState, Direction | None]:
        """Finish a track that ended with its last observed point at ``last``.

        Returns:
            The final state and the direction of a crossing the track completed inside the
            band (it touched the segment and ended strictly on the other side), or None.
        """
        strict = self._strict_side(last)
        if state.committed == 0 or not state.touched or strict != -state.committed:
            return state, None
        return LineTrackState(strict), Direction.IN if strict > 0 else Direction.OUT
