"""Invariants of interval aggregation over random event streams (Hypothesis).

Whatever the frame times (bursts, stalls, gaps of many intervals, the wall clock stepping back),
every crossing fed in comes out in exactly one interval, and the intervals tile the wall clock.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from edge.aggregate import IntervalAggregator
from edge.records import CountEvents, Crossing, Direction, FrameQuality, IntervalCount, LineId

LINES = (LineId("door"), LineId("side"))
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
BASE = datetime(2024, 1, 1, tzinfo=UTC)
MAX_FRAME_GAP_S = 2.0

crossings = st.lists(st.tuples(st.sampled_from(LINES), st.sampled_from(Direction)), max_size=3)
# Mostly frame-to-frame gaps, sometimes stalls of many intervals or the clock stepping back (ms).
gaps_ms = st.one_of(
    st.integers(0, 1_500), st.integers(1_500, 3_000), st.integers(-30_000, 0), st.integers(0, 400_000)
)


@dataclass(frozen=True)
class Stream:
    interval_s: int
    frames: list[tuple[datetime, list[tuple[LineId, Direction]]]]
    tail: list[tuple[LineId, Direction]]
    close_at: datetime


@st.composite
def streams(draw: st.DrawFn) -> Stream:
    interval_s = draw(st.sampled_from([10, 60, 300, 3600]))
    moment = BASE + timedelta(milliseconds=draw(st.integers(0, 7_200_000)))
    frames = []
    for gap_ms, frame_crossings in draw(st.lists(st.tuples(gaps_ms, crossings), min_size=1, max_size=40)):
        moment += timedelta(milliseconds=gap_ms)
        frames.append((moment, frame_crossings))
    close_at = moment + timedelta(milliseconds=draw(st.integers(-5_000, 5_000)))
    return Stream(interval_s, frames, draw(crossings), close_at)


def _events(items: list[tuple[LineId, Direction]]) -> CountEvents:
    return CountEvents(0, 0.0, tuple(Crossing(line, way, 0.0, 0) for line, way in items), (), ())


def _aggregate(stream: Stream) -> list[IntervalCount]:
    aggregator = IntervalAggregator(LINES, [], interval_s=stream.interval_s, max_frame_gap_s=MAX_FRAME_GAP_S)
    intervals: list[IntervalCount] = []
    for captured_at, items in stream.frames:
        intervals += aggregator.add(_events(items), FrameQuality(captured_at, 100.0))
    last = aggregator.close(stream.close_at, _events(stream.tail))
    assert last is not None
    return [*intervals, last]


def _expected_observed_s(stream: Stream) -> float:
    """Gaps up to the cap in full; longer ones capped and cut at the earlier frame's interval end."""
    interval = timedelta(seconds=stream.interval_s)
    cap = timedelta(seconds=MAX_FRAME_GAP_S)

    def interval_end(moment: datetime) -> datetime:
        return EPOCH + ((moment - EPOCH) // interval + 1) * interval

    times = [stream.frames[0][0]]
    for captured_at, _ in stream.frames[1:]:
        times.append(max(captured_at, times[-1]))  # a clock step back holds time still
    total = timedelta(0)
    for earlier, later in itertools.pairwise(times):
        gap = later - earlier
        total += gap if gap <= cap else min(cap, interval_end(earlier) - earlier)
    last = times[-1]
    total += min(max(stream.close_at - last, timedelta(0)), cap, interval_end(last) - last)
    return total.total_seconds()


@settings(deadline=None)
@given(streams())
def test_every_crossing_lands_in_exactly_one_interval(stream: Stream) -> None:
    intervals = _aggregate(stream)
    fed = Counter(item for _, items in stream.frames for item in items) + Counter(stream.tail)
    for index, line_id in enumerate(LINES):
        assert sum(interval.lines[index].in_count for interval in intervals) == fed[(line_id, Direction.IN)]
        assert sum(interval.lines[index].out_count for interval in intervals) == fed[(line_id, Direction.OUT)]
    assert sum(interval.quality.frames for interval in intervals) == len(stream.frames)


@settings(deadline=None)
@given(streams())
def test_intervals_are_contiguous_aligned_and_cover_the_stream(stream: Stream) -> None:
    intervals = _aggregate(stream)
    length = timedelta(seconds=stream.interval_s)
    for previous, interval in itertools.pairwise(intervals):
        assert interval.start == previous.end
    for interval in intervals:
        assert (interval.start - EPOCH) % length == timedelta(0)
        assert interval.end - interval.start == length
        assert 0.0 <= interval.quality.coverage <= 1.0
        if interval.quality.frames == 0:
            assert interval.quality.observed_s == 0.0
            assert sum(line.in_count + line.out_count for line in interval.lines) == 0
    first_frame = stream.frames[0][0]
    latest_frame = max(captured_at for captured_at, _ in stream.frames)
    assert intervals[0].start <= first_frame < intervals[0].end
    assert intervals[-1].start <= latest_frame < intervals[-1].end
    observed_s = sum(interval.quality.observed_s for interval in intervals)
    assert abs(observed_s - _expected_observed_s(stream)) < 1e-6
