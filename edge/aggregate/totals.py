"""Run totals: crossings per line, occupancy and dwell statistics per zone.

`CountTotals` accumulates the `CountEvents` of one run (a clip, or a process lifetime) and
reports a `CountSummary` (`IntervalAggregator` keeps one per wall-clock interval). Every
calibrated line and zone appears in the summary, with zeros when nothing happened: zero is data.

Mean occupancy is time weighted: each frame's occupancy counts for the time until the next
events (the next frame, or `SceneCounter.finish`), so a dropped-frame stretch is not
under-weighted. The last frame before a summary without `finish` carries no weight; if no time
has passed at all, the plain mean of the samples is reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from edge.records import CountEvents, Direction, LineId, LineInterval, ZoneId, ZoneInterval

if TYPE_CHECKING:
    from collections.abc import Sequence


@dataclass(frozen=True, slots=True)
class CountSummary:
    """Totals of a run, in calibration order.

    Attributes:
        lines: one entry per calibrated line.
        zones: one entry per calibrated zone.
        duration_s: media time from the first to the last events added.
    """

    lines: tuple[LineInterval, ...]
    zones: tuple[ZoneInterval, ...]
    duration_s: float

    def line(self, line_id: str) -> LineInterval:
        """Totals of one line; raises KeyError for an unknown id."""
        for totals in self.lines:
            if totals.line_id == line_id:
                return totals
        raise KeyError(line_id)

    def zone(self, zone_id: str) -> ZoneInterval:
        """Totals of one zone; raises KeyError for an unknown id."""
        for totals in self.zones:
            if totals.zone_id == zone_id:
                return totals
        raise KeyError(zone_id)


class CountTotals:
    """Accumulates `CountEvents` into a `CountSummary`."""

    def __init__(self, line_ids: Sequence[LineId], zone_ids: Sequence[ZoneId]) -> None:
        """Start empty totals for the calibrated lines and zones.

        Raises:
            ValueError: if an id repeats.
        """
        if len(set(line_ids)) != len(line_ids):
            raise ValueError(f"line_ids must be unique, got {list(line_ids)}")
        if len(set(zone_ids)) != len(zone_ids):
            raise ValueError(f"zone_ids must be unique, got {list(zone_ids)}")
        self._crossings = {line_id: {Direction.IN: 0, Direction.OUT: 0} for line_id in line_ids}
        self._zone_ids = tuple(zone_ids)
        self._peak = dict.fromkeys(zone_ids, 0)
        self._weighted_people_s = dict.fromkeys(zone_ids, 0.0)
        self._weighted_s = dict.fromkeys(zone_ids, 0.0)
        self._sample_sum = dict.fromkeys(zone_ids, 0)
        self._samples = dict.fromkeys(zone_ids, 0)
        self._dwells_s: dict[ZoneId, list[float]] = {zone_id: [] for zone_id in zone_ids}
        self._first_s: float | None = None
        self._last_s: float | None = None
        self._pending: dict[ZoneId, int] = {}

    def extend(self, line_ids: Sequence[LineId], zone_ids: Sequence[ZoneId]) -> None:
        """Also count these lines and zones, from zero; the ones counted already keep their totals.

        For a calibration saved mid-run: lines and zones that still exist go on, new ones join,
        removed ones stay in the summary with what they counted.
        """
        for line_id in line_ids:
            self._crossings.setdefault(line_id, {Direction.IN: 0, Direction.OUT: 0})
        for zone_id in zone_ids:
            if zone_id in self._dwells_s:
                continue
            self._zone_ids += (zone_id,)
            self._peak[zone_id] = 0
            self._weighted_people_s[zone_id] = 0.0
            self._weighted_s[zone_id] = 0.0
            self._sample_sum[zone_id] = 0
            self._samples[zone_id] = 0
            self._dwells_s[zone_id] = []

    def add(self, events: CountEvents) -> None:
        """Add one frame's events (or the tail from `SceneCounter.finish`).

        Raises:
            ValueError: for an unknown line or zone id, or events older than the previous ones.
        """
        if self._last_s is not None and events.timestamp_s < self._last_s:
            raise ValueError(f"events.timestamp_s went backwards: {events.timestamp_s} < {self._last_s}")
        for crossing in events.crossings:
            if crossing.line_id not in self._crossings:
                raise ValueError(f"events: unknown line id {crossing.line_id!r}")
            self._crossings[crossing.line_id][crossing.direction] += 1
        for visit in events.visits:
            self._known_zone(visit.zone_id).append(visit.dwell_s)
        self._weigh_pending(events.timestamp_s)
        for sample in events.occupancy:
            self._known_zone(sample.zone_id)
            self._pending[sample.zone_id] = sample.people
            self._peak[sample.zone_id] = max(self._peak[sample.zone_id], sample.people)
            self._sample_sum[sample.zone_id] += sample.people
            self._samples[sample.zone_id] += 1
        if self._first_s is None:
            self._first_s = events.timestamp_s
        self._last_s = events.timestamp_s

    def summary(self) -> CountSummary:
        """Totals so far, every calibrated line and zone included."""
        lines = tuple(
            LineInterval(line_id, counts[Direction.IN], counts[Direction.OUT])
            for line_id, counts in self._crossings.items()
        )
        zones = tuple(self._zone_totals(zone_id) for zone_id in self._zone_ids)
        duration_s = 0.0 if self._first_s is None or self._last_s is None else self._last_s - self._first_s
        return CountSummary(lines, zones, duration_s)

    def _known_zone(self, zone_id: ZoneId) -> list[float]:
        if zone_id not in self._dwells_s:
            raise ValueError(f"events: unknown zone id {zone_id!r}")
        return self._dwells_s[zone_id]

    def _weigh_pending(self, now_s: float) -> None:
        """Weight the previous frame's occupancy by the time until ``now_s``."""
        if self._last_s is None:
            return
        elapsed_s = now_s - self._last_s
        for zone_id, people in self._pending.items():
            self._weighted_s[zone_id] += elapsed_s
            self._weighted_people_s[zone_id] += people * elapsed_s
        self._pending = {}

    def _zone_totals(self, zone_id: ZoneId) -> ZoneInterval:
        if self._samples[zone_id] == 0:
            mean: float | None = None
        elif self._weighted_s[zone_id] > 0.0:
            mean = self._weighted_people_s[zone_id] / self._weighted_s[zone_id]
        else:
            mean = self._sample_sum[zone_id] / self._samples[zone_id]
        dwells = np.asarray(self._dwells_s[zone_id], dtype=np.float64)
        has_visits = dwells.size > 0
        return ZoneInterval(
            zone_id=zone_id,
            peak_occupancy=self._peak[zone_id],
            mean_occupancy=mean,
            visits=int(dwells.size),
            dwell_mean_s=float(dwells.mean()) if has_visits else None,
            dwell_median_s=float(np.median(dwells)) if has_visits else None,
            dwell_max_s=float(dwells.max()) if has_visits else None,
        )
