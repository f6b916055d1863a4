"""IntervalAggregator: per-frame `CountEvents` -> one `IntervalCount` per UTC wall-clock interval.

Intervals are ``[start, start + interval_s)`` where ``start`` is a whole multiple of ``interval_s``
since the Unix epoch, so with 60 s every interval starts on a whole minute and with 3600 s on the
hour. A frame belongs to the interval that contains its `FrameQuality.captured_at`; every event of
that frame (crossings, occupancy, visits that ended) is counted there. The media time of the events
(`CountEvents.timestamp_s`) is not used here: one clock, the wall clock, decides everything.

Observed time: the time between two consecutive frames counts as observed when it is at most
``max_frame_gap_s``, split at the interval boundary it may straddle so each part is attributed to
the interval it belongs to. A longer gap means the camera was not delivering: only its first
``max_frame_gap_s`` count, and only inside the earlier frame's interval. So an interval the camera
never delivered a frame in is still reported, with zero counts and coverage exactly 0: zero is
data, and "no data" shows as coverage 0.

Occupancy: each interval has its own `CountTotals`, fed with the events re-stamped with the
interval's observed seconds so far. Its time weighting then weighs each frame's occupancy by the
observed time that follows it inside the interval; the stretch between the boundary and an
interval's first frame (under ``max_frame_gap_s``) carries no occupancy weight.

Clock steps: a frame captured before the latest frame seen (the wall clock was stepped back) is
treated as captured at that latest time: its counts go to the current interval, it adds no observed
time, and no interval is reopened or emitted twice. One warning is logged per step. A step forward
looks like a gap and produces empty intervals.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from edge.aggregate.totals import CountTotals
from edge.records import (
    CountEvents,
    FrameQuality,
    IntervalCount,
    IntervalQuality,
    LineId,
    ZoneId,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

logger = logging.getLogger(__name__)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECONDS_PER_HOUR = 3600
MIN_INTERVAL_S = 10
"""Shortest interval, seconds: shorter buckets would mostly hold noise and flood the outbox."""
MAX_INTERVAL_S = _SECONDS_PER_HOUR
"""Longest interval, seconds: an hour, so every interval divides the hour (and the day)."""
MAX_BRIGHTNESS = 255.0
"""Upper end of 8-bit luma."""


@dataclass(slots=True, eq=False)
class _OpenInterval:
    """What is known so far about the interval being filled (mutable, private to this module)."""

    index: int
    start: datetime
    end: datetime
    totals: CountTotals
    observed_s: float = 0.0
    frames: int = 0
    frames_dropped: int = 0
    dark_frames: int = 0


class IntervalAggregator:
    """Sums one camera's counts into UTC wall-clock intervals and reports each when it closes.

    Example::

        aggregator = IntervalAggregator([LineId("door")], [], interval_s=60)
        for frame in frames:
            events = counter.update(tracker.update(detector.detect(frame)))
            quality = FrameQuality(datetime.now(UTC), frame_brightness(frame.image))
            for interval in aggregator.add(events, quality):
                outbox.put(interval)
        last = aggregator.close(datetime.now(UTC), counter.finish(end_s))
    """

    def __init__(
        self,
        line_ids: Sequence[LineId],
        zone_ids: Sequence[ZoneId],
        *,
        interval_s: int = 60,
        low_light_brightness: float = 35.0,
        max_frame_gap_s: float = 2.0,
    ) -> None:
        """Prepare an empty aggregator; the first frame (or `tick`) opens the first interval.

        Args:
            line_ids: calibrated lines; each appears in every interval, in this order.
            zone_ids: calibrated zones; each appears in every interval, in this order.
            interval_s: interval length in seconds, 10-3600 and a divisor of 3600.
            low_light_brightness: mean luma (0-255) below which a frame counts as dark.
            max_frame_gap_s: longest gap between frames still counted as observed, seconds
                (below ``interval_s``).

        Raises:
            ValueError: naming the argument, for repeated ids or values out of range.
        """
        if isinstance(interval_s, bool) or not isinstance(interval_s, int):
            raise ValueError(f"interval_s must be a whole number of seconds, got {interval_s!r}")
        if not MIN_INTERVAL_S <= interval_s <= MAX_INTERVAL_S or _SECONDS_PER_HOUR % interval_s:
            raise ValueError(
                f"interval_s must be between {MIN_INTERVAL_S} and {MAX_INTERVAL_S} and divide "
                f"{_SECONDS_PER_HOUR} evenly, got {interval_s}"
            )
        if not 0.0 <= low_light_brightness <= MAX_BRIGHTNESS:
            raise ValueError(f"low_light_brightness must be in [0, 255], got {low_light_brightness}")
        if not 0.0 < max_frame_gap_s < interval_s:
            raise ValueError(
                f"max_frame_gap_s must be in (0, interval_s={interval_s}), got {max_frame_gap_s}"
            )
        CountTotals(line_ids, zone_ids)  # validates the ids (unique) before anything is kept
        self._line_ids = tuple(line_ids)
        self._zone_ids = tuple(zone_ids)
        self._known_lines = frozenset(self._line_ids)
        self._known_zones = frozenset(self._zone_ids)
        self._interval_s = interval_s
        self._interval = timedelta(seconds=interval_s)
        self._low_light_brightness = low_light_brightness
        self._max_frame_gap = timedelta(seconds=max_frame_gap_s)
        self._current: _OpenInterval | None = None
        self._last_at: datetime | None = None
        # Observed time after the last frame already given to intervals by `tick`.
        self._attributed_until: datetime | None = None
        self._clock_behind = False
        self._closed = False

    @property
    def interval_s(self) -> int:
        """Interval length, seconds."""
        return self._interval_s

    def add(self, events: CountEvents, quality: FrameQuality) -> list[IntervalCount]:
        """Count one processed frame in the interval that contains its capture time.

        Args:
            events: what counting produced for the frame.
            quality: the frame's capture time (timezone-aware), brightness and dropped frames.

        Returns:
            The intervals this frame closed, oldest first: none while the frame stays in the
            current interval, the current one when it moves on, plus every interval skipped
            since (zero counts, zero coverage).

        Raises:
            ValueError: for a naive ``captured_at``, negative ``frames_dropped`` or ids that were
                not calibrated; the aggregator is left unchanged.
            RuntimeError: after `close`.
        """
        self._check_not_closed()
        captured_at = _as_utc(quality.captured_at, "quality.captured_at")
        if quality.frames_dropped < 0:
            raise ValueError(f"quality.frames_dropped must be >= 0, got {quality.frames_dropped}")
        self._check_ids(events)
        at = self._not_before_last(captured_at)
        closed = self._advance_to(at)
        current = self._current
        if current is None:
            current = self._current = self._open(self._index(at))
        current.totals.add(dataclasses.replace(events, timestamp_s=current.observed_s))
        current.frames += 1
        current.frames_dropped += quality.frames_dropped
        current.dark_frames += quality.mean_brightness < self._low_light_brightness
        self._last_at = at
        self._attributed_until = None
        return closed

    def recalibrate(
        self, line_ids: Sequence[LineId], zone_ids: Sequence[ZoneId], events: CountEvents | None = None
    ) -> None:
        """Count the lines and zones of a new calibration from now on, without closing the interval.

        One record per UTC slot (README D-051): the interval in progress keeps what it counted
        under the ids it was counted with, and gains the new ids; the intervals after it hold
        the new ids only. A line kept by the new calibration goes on counting in the same record,
        a removed or renamed one is reported there under its old id with its counts until the save.

        Args:
            line_ids: the new calibration's lines.
            zone_ids: the new calibration's zones.
            events: the old counter's last events (`SceneCounter.finish`): counted in the current
                interval, under the old ids.

        Raises:
            ValueError: for repeated ids, or events for ids the old calibration did not have.
            RuntimeError: after `close`.
        """
        self._check_not_closed()
        CountTotals(line_ids, zone_ids)  # validates the ids (unique) before anything changes
        current = self._current
        if events is not None:
            self._check_ids(events)
            if current is not None:
                current.totals.add(dataclasses.replace(events, timestamp_s=current.observed_s))
        self._line_ids = tuple(line_ids)
        self._zone_ids = tuple(zone_ids)
        self._known_lines = frozenset(self._line_ids)
        self._known_zones = frozenset(self._zone_ids)
        if current is not None:
            current.totals.extend(self._line_ids, self._zone_ids)

    def tick(self, now: datetime) -> list[IntervalCount]:
        """Close the intervals that ended before ``now`` although no frame came since.

        The service calls this regularly, so a blind camera still produces its intervals on time
        (zero counts, coverage near 0) instead of when frames come back.

        Raises:
            ValueError: for a naive ``now``.
            RuntimeError: after `close`.
        """
        self._check_not_closed()
        at = _as_utc(now, "now")
        current, last_at = self._current, self._last_at
        if current is None or last_at is None:
            # No frame yet (a camera missing at start): open the interval of `now`, observed for
            # 0 s, so the blind time is reported on time like any other.
            self._current = self._open(self._index(at))
            self._last_at = at
            self._attributed_until = at + self._max_frame_gap  # nothing up to here was seen
            return []
        if at < current.end:
            return []
        return self._advance_to(max(at, last_at))

    def snapshot(self, now: datetime) -> IntervalCount | None:
        """The open interval as it stands at ``now``, without closing it (the aggregator is unchanged).

        What a crash would lose: the service saves it every few seconds, and a start that finds
        one saved commits it. Its coverage counts only the time observed so far (the last frame
        stands for the time until ``now``, at most ``max_frame_gap_s``, as in `close`).

        Returns:
            The partial interval, or None before the first frame and after `close`.

        Raises:
            ValueError: for a naive ``now``.
        """
        now = _as_utc(now, "now")
        current, last_at = self._current, self._last_at
        if self._closed or current is None or last_at is None:
            return None
        window_end = last_at + min(max(now - last_at, timedelta(0)), self._max_frame_gap)
        window_start = max(last_at, self._attributed_until or last_at)
        partial = dataclasses.replace(
            current,
            totals=copy.deepcopy(current.totals),
            observed_s=current.observed_s + _overlap_s(window_start, window_end, current.start, current.end),
        )
        return self._result(partial)

    def close(self, now: datetime, events: CountEvents | None = None) -> IntervalCount | None:
        """Close the current, partial interval at shutdown; the aggregator is finished after.

        The interval keeps its normal end; its coverage shows how much of it was observed (the
        last frame stands for the time until ``now``, at most ``max_frame_gap_s``).

        Args:
            now: wall-clock time of the shutdown (timezone-aware).
            events: the counter's last events (`SceneCounter.finish`): visits still open and
                crossings settled at the end. Counted in this interval; not a frame.

        Returns:
            The partial interval, or None if no frame was added (or `close` was already called).

        Raises:
            ValueError: for a naive ``now`` or ids that were not calibrated.
        """
        now = _as_utc(now, "now")
        if events is not None:
            self._check_ids(events)
        if self._closed:
            return None
        self._closed = True
        current, last_at = self._current, self._last_at
        if current is None or last_at is None:
            if events is not None and (events.crossings or events.visits):
                logger.warning(
                    "close: %d crossings and %d visits without any frame are not counted",
                    len(events.crossings),
                    len(events.visits),
                )
            return None
        window_end = last_at + min(max(now - last_at, timedelta(0)), self._max_frame_gap)
        window_start = max(last_at, self._attributed_until or last_at)
        current.observed_s += _overlap_s(window_start, window_end, current.start, current.end)
        if events is not None:
            current.totals.add(dataclasses.replace(events, timestamp_s=current.observed_s))
        self._current = None
        return self._result(current)

    def _check_not_closed(self) -> None:
        if self._closed:
            raise RuntimeError("IntervalAggregator is closed")

    def _check_ids(self, events: CountEvents) -> None:
        """Reject events for uncalibrated lines or zones before any state changes."""
        for crossing in events.crossings:
            if crossing.line_id not in self._known_lines:
                raise ValueError(f"events: unknown line id {crossing.line_id!r}")
        for zone_id in [sample.zone_id for sample in events.occupancy] + [
            visit.zone_id for visit in events.visits
        ]:
            if zone_id not in self._known_zones:
                raise ValueError(f"events: unknown zone id {zone_id!r}")

    def _not_before_last(self, captured_at: datetime) -> datetime:
        """Hold time still while the wall clock is behind the latest frame (a step back)."""
        last_at = self._last_at
        if last_at is None or captured_at >= last_at:
            self._clock_behind = False
            return captured_at
        if not self._clock_behind:
            logger.warning(
                "wall clock went back %.3f s (frame at %s after one at %s): counting in the current "
                "interval until the clock catches up",
                (last_at - captured_at).total_seconds(),
                captured_at.isoformat(),
                last_at.isoformat(),
            )
            self._clock_behind = True
        return last_at

    def _advance_to(self, at: datetime) -> list[IntervalCount]:
        """Attribute the previous frame's observed window and close every interval before ``at``."""
        current, last_at = self._current, self._last_at
        if current is None or last_at is None:
            return []
        window_end = (
            at if at - last_at <= self._max_frame_gap else min(last_at + self._max_frame_gap, current.end)
        )
        window_start = max(last_at, self._attributed_until or last_at)
        target = self._index(at)
        closed: list[IntervalCount] = []
        while True:
            current.observed_s += _overlap_s(window_start, window_end, current.start, current.end)
            if current.index >= target:
                break
            closed.append(self._result(current))
            current = self._current = self._open(current.index + 1)
        self._attributed_until = max(window_start, window_end)
        if len(closed) > 1:
            logger.warning(
                "no frames from %s to %s: %d empty intervals",
                last_at.isoformat(),
                at.isoformat(),
                len(closed) - 1,
            )
        return closed

    def _index(self, at: datetime) -> int:
        return (at - _EPOCH) // self._interval

    def _open(self, index: int) -> _OpenInterval:
        start = _EPOCH + index * self._interval
        return _OpenInterval(
            index, start, start + self._interval, CountTotals(self._line_ids, self._zone_ids)
        )

    def _result(self, interval: _OpenInterval) -> IntervalCount:
        # Empty tail: weighs the last frame's occupancy by its observed time in the interval.
        interval.totals.add(CountEvents(-1, interval.observed_s, (), (), ()))
        summary = interval.totals.summary()
        observed_s = interval.observed_s
        quality = IntervalQuality(
            observed_s=observed_s,
            coverage=min(max(observed_s / self._interval_s, 0.0), 1.0),
            frames=interval.frames,
            effective_fps=interval.frames / observed_s if observed_s > 0.0 else 0.0,
            frames_dropped=interval.frames_dropped,
            low_light=2 * interval.dark_frames > interval.frames,
        )
        return IntervalCount(
            start=interval.start,
            end=interval.end,
            lines=summary.lines,
            zones=summary.zones,
            quality=quality,
        )


def _as_utc(moment: datetime, argument: str) -> datetime:
    """The same instant in UTC; naive datetimes are ambiguous and rejected."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{argument} must be timezone-aware (UTC), got naive {moment.isoformat()}")
    return moment.astimezone(UTC)


def _overlap_s(start: datetime, end: datetime, lower: datetime, upper: datetime) -> float:
    """Seconds of ``[start, end)`` that fall inside ``[lower, upper)``."""
    return max((min(end, upper) - max(start, lower)).total_seconds(), 0.0)
