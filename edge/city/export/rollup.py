"""Device intervals -> one measure per channel and quarter-hour (or hour): the export's pure core.

Rules (README D-035, D-036):
- Slots are `[start, start + step)` from local midnight of the first day to local midnight after
  the last, stepped in absolute time, so a spring-forward day in Europe/Paris has 92 quarter-hours
  and a fall-back day 100 (two slots start at local 02:00, one at +02:00, one at +01:00).
- A device interval belongs to the slot holding its midpoint: its counts are added there, and its
  observed time (`coverage` x its length) counts towards that slot's coverage. Device intervals
  are epoch-aligned divisors of an hour, so they normally fall wholly inside one slot; a
  misaligned one moves at most half its length across a boundary, and counts stay whole people.
  An interval longer than the step cannot be split into slots and counts as unobserved.
- A slot's coverage is its intervals' observed time over the slot's length (missing intervals
  observe nothing), capped at 1. Below `minimum_coverage` the count is left empty, never 0.
- A suppressed count (NULL: small-count suppression on the device) in any of a slot's intervals
  leaves that slot's count empty: a sum with an unknown term is unknown.
- An interval without the channel's line and direction (a line added to or removed from the
  calibration), or reported from another site (a device moved elsewhere), did not count that
  channel: it adds neither counts nor coverage.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from edge.city.export.records import DeviceInterval, ExportWindow, MeasureRow
from edge.city.export.sites import ChannelConfig, SiteConfig

# Slot lengths the export offers: the schema's usual quarter-hour and hour.
STEPS_S = (900, 3600)
# Slack for float sums of observed seconds when comparing with the coverage threshold.
_COVERAGE_EPSILON = 1e-9


def export_window(first_day: date, last_day: date, zone: ZoneInfo, step_s: int) -> ExportWindow:
    """The slots from local midnight of `first_day` to local midnight after `last_day` (inclusive).

    Raises:
        ValueError: `step_s` is not 900 or 3600, or `last_day` is before `first_day`.
    """
    if step_s not in STEPS_S:
        raise ValueError(f"step_s must be one of {STEPS_S}, got {step_s}")
    if last_day < first_day:
        raise ValueError(f"last_day {last_day} is before first_day {first_day}")
    start = datetime(first_day.year, first_day.month, first_day.day, tzinfo=zone).astimezone(ZoneInfo("UTC"))
    after = last_day + timedelta(days=1)
    end = datetime(after.year, after.month, after.day, tzinfo=zone).astimezone(ZoneInfo("UTC"))
    return ExportWindow(start=start, end=end, step_s=step_s)


@dataclass(slots=True)
class _SlotTotals:
    """Running totals of one channel's slots while its intervals are added."""

    observed_s: list[float]
    counts: list[int]
    suppressed: list[bool]

    @classmethod
    def empty(cls, slot_count: int) -> _SlotTotals:
        return cls([0.0] * slot_count, [0] * slot_count, [False] * slot_count)


def roll_up(
    intervals: Iterable[DeviceInterval],
    sites: Sequence[SiteConfig],
    window: ExportWindow,
    minimum_coverage: float,
    devices: Collection[str] | None = None,
) -> list[MeasureRow]:
    """Measures of every channel in every slot of `window`, sorted by slot start then channel id.

    Only the channels of `devices` when given (the export rolls up one device at a time). Slots
    that start before a channel's `started_at`, or at or after its `ended_at`, are left out.
    """
    if not 0.0 < minimum_coverage <= 1.0:
        raise ValueError(f"minimum_coverage must be in (0, 1], got {minimum_coverage}")
    by_device: dict[tuple[str, str], list[DeviceInterval]] = {}
    for interval in intervals:
        by_device.setdefault((interval.site_id, interval.device_id), []).append(interval)
    rows: list[MeasureRow] = []
    for site in sites:
        for channel in site.channels:
            if devices is not None and channel.device_id not in devices:
                continue
            totals = _channel_totals(by_device.get((site.site_id, channel.device_id), []), channel, window)
            rows.extend(_channel_rows(totals, channel, window, minimum_coverage))
    rows.sort(key=lambda row: (row.start, row.channel_id))
    return rows


def _channel_totals(
    intervals: Sequence[DeviceInterval], channel: ChannelConfig, window: ExportWindow
) -> _SlotTotals:
    slot_count = window.slot_count
    totals = _SlotTotals.empty(slot_count)
    for interval in intervals:
        counted, count = interval.count_of(channel.line_id, channel.direction)
        length_s = (interval.end - interval.start).total_seconds()
        if not counted or length_s <= 0 or length_s > window.step_s:
            continue
        midpoint_s = (interval.start - window.start).total_seconds() + length_s / 2
        slot = math.floor(midpoint_s / window.step_s)
        if not 0 <= slot < slot_count:
            continue
        totals.observed_s[slot] += min(max(interval.coverage, 0.0), 1.0) * length_s
        if count is None:
            totals.suppressed[slot] = True
        else:
            totals.counts[slot] += count
    return totals


def _channel_rows(
    totals: _SlotTotals, channel: ChannelConfig, window: ExportWindow, minimum_coverage: float
) -> Iterable[MeasureRow]:
    step = timedelta(seconds=window.step_s)
    for slot in range(window.slot_count):
        start = window.start + slot * step
        if start < channel.started_at or (channel.ended_at is not None and start >= channel.ended_at):
            continue
        coverage = min(totals.observed_s[slot] / window.step_s, 1.0)
        observed = coverage + _COVERAGE_EPSILON >= minimum_coverage
        count = totals.counts[slot] if observed and not totals.suppressed[slot] else None
        yield MeasureRow(channel.channel_id, channel.device_id, start, start + step, count)
