"""Aggregation: per-frame count events -> totals of a run and counts per UTC wall-clock interval.

Owns the run totals (`totals`: crossings per line, occupancy and dwell per zone), the interval
aggregator (`intervals`: wall-clock buckets aligned to the epoch, observed-time coverage, gaps
reported as empty intervals, clock steps) and the per-frame brightness estimate for the
low-light flag (`brightness`). Pure computation on `edge.records`: aggregate/ never touches the
network or disk (delivering intervals is `edge.deliver`'s job), never reads settings, never
imports other pipeline stages, never sees track ids or images beyond one brightness number, and
depends only on numpy.
"""

from __future__ import annotations

from edge.aggregate.brightness import frame_brightness
from edge.aggregate.intervals import IntervalAggregator
from edge.aggregate.totals import CountSummary, CountTotals

__all__ = [
    "CountSummary",
    "CountTotals",
    "IntervalAggregator",
    "frame_brightness",
]
