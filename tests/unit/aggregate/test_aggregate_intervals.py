"""IntervalAggregator: wall-clock alignment, boundaries, gaps, coverage, clock steps, argument checks."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta, timezone

import pytest

from edge.aggregate import IntervalAggregator
from edge.records import (
    CountEvents,
    Crossing,
    Direction,
    FrameQuality,
    IntervalCount,
    LineId,
    LineInterval,
    ZoneId,
    ZoneInterval,
    ZoneOccupancy,
    ZoneVisit,
)

DOOR = LineId("door")
SIDE = LineId("side")
TABLE = ZoneId("table")
WINDOW = ZoneId("window")
DAY = "2024-05-06"


def at(clock: str) -> datetime:
    """A UTC time on the test day, e.g. ``at("12:00:59.9")``."""
    return datetime.fromisoformat(f"{DAY}T{clock}+00:00")


def events(
    *crossings: tuple[LineId, Direction], table: int | None = None, visits_s: Sequence[float] = ()
) -> CountEvents:
    """One frame's events; media time is irrelevant to the aggregator, so it is left at 0."""
    occupancy = () if table is None else (ZoneOccupancy(TABLE, 0.0, table), ZoneOccupancy(WINDOW, 0.0, 0))
    visits = tuple(ZoneVisit(TABLE, 0.0, dwell_s) for dwell_s in visits_s)
    return CountEvents(
        0, 0.0, tuple(Crossing(line, way, 0.0, 0) for line, way in crossings), occupancy, visits
    )


def quality(clock: str, brightness: float = 100.0, dropped: int = 0) -> FrameQuality:
    return FrameQuality(at(clock), brightness, dropped)


def run(
    frames: Sequence[tuple[str, CountEvents]], close_at: str, aggregator: IntervalAggregator | None = None
) -> list[IntervalCount]:
    """Feed frames (clock, events), then close; every interval reported, oldest first."""
    aggregator = aggregator or IntervalAggregator([DOOR, SIDE], [TABLE, WINDOW])
    intervals: list[IntervalCount] = []
    for clock, frame_events in frames:
        intervals += aggregator.add(frame_events, quality(clock))
    last = aggregator.close(at(close_at))
    assert last is not None
    return [*intervals, last]


def every(step_s: float, first: str, last: str) -> list[str]:
    """Clock strings from ``first`` to ``last`` inclusive, ``step_s`` apart."""
    moments, moment = [], at(first)
    while moment <= at(last):
        moments.append(moment.strftime("%H:%M:%S.%f"))
        moment += timedelta(seconds=step_s)
    return moments


@pytest.mark.parametrize(
    ("interval_s", "clock", "start"),
    [
        pytest.param(60, "12:34:56.7", "12:34:00", id="60s-mid-minute"),
        pytest.param(60, "12:35:00", "12:35:00", id="60s-on-boundary"),
        pytest.param(300, "12:34:56.7", "12:30:00", id="300s-mid"),
        pytest.param(300, "12:35:00", "12:35:00", id="300s-on-boundary"),
        pytest.param(3600, "12:34:56.7", "12:00:00", id="3600s-mid-hour"),
        pytest.param(3600, "23:59:59.999999", "23:00:00", id="3600s-last-microsecond"),
        pytest.param(45, "00:01:29", "00:00:45", id="45s-divides-the-hour"),
    ],
)
def test_intervals_align_to_utc_wall_clock(interval_s: int, clock: str, start: str) -> None:
    aggregator = IntervalAggregator([DOOR], [], interval_s=interval_s)
    assert aggregator.add(events(), quality(clock)) == []
    interval = aggregator.close(at(clock))
    assert interval is not None
    assert (interval.start, interval.end) == (at(start), at(start) + timedelta(seconds=interval_s))
    assert interval.start.tzinfo is UTC


def test_aware_non_utc_times_are_converted_to_utc() -> None:
    aggregator = IntervalAggregator([DOOR], [])
    paris_summer = timezone(timedelta(hours=2))
    aggregator.add(events(), FrameQuality(datetime(2024, 5, 6, 14, 0, 30, tzinfo=paris_summer), 100.0))
    interval = aggregator.close(at("12:00:40"))
    assert interval is not None
    assert interval.start == at("12:00:00")
    assert interval.start.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("crossing_at", "counted_in"),
    [
        pytest.param("12:00:59.9", "12:00:00", id="last-tenth-of-12:00"),
        pytest.param("12:00:59.999999", "12:00:00", id="last-microsecond-of-12:00"),
        pytest.param("12:01:00.0", "12:01:00", id="first-instant-of-12:01"),
    ],
)
def test_a_crossing_counts_in_the_interval_containing_its_frame(crossing_at: str, counted_in: str) -> None:
    frames = [("12:00:30", events()), (crossing_at, events((DOOR, Direction.IN))), ("12:01:30", events())]
    intervals = run(frames, close_at="12:01:30")
    assert [interval.start for interval in intervals] == [at("12:00:00"), at("12:01:00")]
    door_in = {interval.start: interval.lines[0].in_count for interval in intervals}
    assert door_in == {start: int(start == at(counted_in)) for start in door_in}


def _empty(start: str) -> tuple[str, int, int, float]:
    return (start, 0, 0, 0.0)


@pytest.mark.parametrize(
    ("next_frame", "closed"),
    [
        pytest.param("12:00:59.9", [], id="same-interval"),
        pytest.param("12:01:10", [("12:00:00", 120, 120, 60.0)], id="next-interval"),
        pytest.param(
            "12:04:10",
            [("12:00:00", 120, 120, 60.0), _empty("12:01:00"), _empty("12:02:00"), _empty("12:03:00")],
            id="three-skipped-intervals",
        ),
        pytest.param(
            "12:01:00.25",
            [("12:00:00", 120, 120, 60.0)],
            id="gap-across-boundary-split",
        ),
    ],
)
def test_skipped_intervals_are_reported_empty_with_zero_coverage(
    next_frame: str, closed: list[tuple[str, int, int, float]]
) -> None:
    aggregator = IntervalAggregator([DOOR, SIDE], [TABLE, WINDOW])
    for clock in every(0.5, "12:00:00", "12:00:59.5"):
        assert aggregator.add(events((DOOR, Direction.IN), table=1), quality(clock)) == []
    reported = aggregator.add(events(table=3), quality(next_frame))
    summary = [
        (interval.start, interval.lines[0].in_count, interval.quality.frames, interval.quality.observed_s)
        for interval in reported
    ]
    assert summary == [(at(start), *rest) for start, *rest in closed]
    for interval in reported[1:]:
        assert interval.lines == (LineInterval(DOOR, 0, 0), LineInterval(SIDE, 0, 0))
        assert interval.zones == tuple(ZoneInterval(z, None, 0, 0, None, None, None) for z in (TABLE, WINDOW))
        assert (interval.quality.coverage, interval.quality.effective_fps) == (0.0, 0.0)
    if reported:
        assert reported[0].quality.coverage == pytest.approx(1.0)
        assert reported[0].quality.effective_fps == pytest.approx(2.0)
        assert reported[0].zones[0].mean_occupancy == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("clocks", "close_at", "observed_s"),
    [
        pytest.param(["12:00:59.5", "12:01:00.25"], "12:01:00.25", [0.5, 0.25], id="split-at-boundary"),
        pytest.param(["12:00:10", "12:00:11.5", "12:00:20"], "12:00:20", [3.5], id="long-gap-capped"),
        pytest.param(["12:00:59.5", "12:01:10"], "12:01:10", [0.5, 0.0], id="long-gap-stays-in-its-interval"),
        pytest.param(
            ["12:00:59.5", "12:02:30"], "12:02:30", [0.5, 0.0, 0.0], id="frameless-interval-gets-none"
        ),
        pytest.param(["12:00:59", "12:01:00.5"], "12:01:00.5", [1.0, 0.5], id="gap-at-cap-is-split"),
        pytest.param(["12:00:59"], "12:00:59.5", [0.5], id="close-half-a-second-later"),
        pytest.param(["12:00:59"], "12:07:00", [1.0], id="close-window-ends-at-interval-end"),
    ],
)
def test_observed_time_is_capped_per_gap_and_split_at_boundaries(
    clocks: list[str], close_at: str, observed_s: list[float]
) -> None:
    intervals = run([(clock, events()) for clock in clocks], close_at)
    assert [interval.quality.observed_s for interval in intervals] == pytest.approx(observed_s)
    for interval in intervals:
        assert interval.quality.coverage == pytest.approx(interval.quality.observed_s / 60.0)


@pytest.mark.parametrize(
    ("first", "last", "close_at", "observed_s"),
    [
        pytest.param("12:00:00", "12:00:30", "12:00:30.5", 30.5, id="first-half-then-shutdown"),
        pytest.param("12:00:00", "12:00:30", "12:00:40", 32.0, id="shutdown-after-a-stall"),
        pytest.param("12:00:00", "12:00:30", "12:05:00", 32.0, id="shutdown-intervals-later"),
        pytest.param("12:00:45", "12:00:50", "12:00:50.5", 5.5, id="started-mid-interval"),
        pytest.param("12:00:10", "12:00:10", "12:00:05", 0.0, id="shutdown-clock-behind"),
    ],
)
def test_close_reports_the_partial_interval(first: str, last: str, close_at: str, observed_s: float) -> None:
    clocks = every(0.5, first, last)
    [partial] = run([(clock, events((SIDE, Direction.OUT))) for clock in clocks], close_at)
    assert (partial.start, partial.end) == (at("12:00:00"), at("12:01:00"))
    assert partial.lines[1] == LineInterval(SIDE, 0, len(clocks))
    assert partial.quality.frames == len(clocks)
    assert partial.quality.observed_s == pytest.approx(observed_s)
    assert partial.quality.coverage == pytest.approx(observed_s / 60.0)
    expected_fps = len(clocks) / observed_s if observed_s else 0.0
    assert partial.quality.effective_fps == pytest.approx(expected_fps)


def test_close_without_frames_returns_none_and_close_finishes_the_aggregator() -> None:
    assert IntervalAggregator([DOOR], []).close(at("12:00:00")) is None
    aggregator = IntervalAggregator([DOOR], [])
    aggregator.add(events(), quality("12:00:01"))
    assert aggregator.close(at("12:00:02")) is not None
    assert aggregator.close(at("12:00:03")) is None
    with pytest.raises(RuntimeError, match="closed"):
        aggregator.add(events(), quality("12:00:04"))


def test_close_counts_the_counters_final_events_in_the_partial_interval() -> None:
    aggregator = IntervalAggregator([DOOR, SIDE], [TABLE, WINDOW])
    aggregator.add(events((DOOR, Direction.IN), table=2), quality("12:00:10"))
    tail = events((DOOR, Direction.OUT), visits_s=[4.0, 12.0])
    partial = aggregator.close(at("12:00:11"), tail)
    assert partial is not None
    assert partial.lines[0] == LineInterval(DOOR, 1, 1)
    assert partial.zones[0] == ZoneInterval(TABLE, 2.0, 2, 2, 8.0, 8.0, 12.0)
    assert partial.quality.frames == 1


def test_occupancy_and_visits_per_interval_every_zone_and_line_present() -> None:
    frames = [
        ("12:00:58", events(table=2)),
        ("12:00:59", events(table=4)),
        ("12:01:00", events(table=0, visits_s=[5.0])),
        ("12:01:01", events(table=1, visits_s=[3.0, 10.0])),
    ]
    first, second = run(frames, close_at="12:01:01.5")
    assert first.lines == second.lines == (LineInterval(DOOR, 0, 0), LineInterval(SIDE, 0, 0))
    assert first.zones == (
        ZoneInterval(TABLE, pytest.approx(3.0), 4, 0, None, None, None),  # type: ignore[arg-type]
        ZoneInterval(WINDOW, 0.0, 0, 0, None, None, None),
    )
    # 0 people for the 1 s until the next frame, then 1 person for the 0.5 s until shutdown.
    assert second.zones == (
        ZoneInterval(TABLE, pytest.approx(0.5 / 1.5), 1, 3, 6.0, 5.0, 10.0),  # type: ignore[arg-type]
        ZoneInterval(WINDOW, 0.0, 0, 0, None, None, None),
    )


@pytest.mark.parametrize(
    ("brightness", "threshold", "low_light"),
    [
        pytest.param([10.0, 10.0, 100.0], 35.0, True, id="two-of-three-dark"),
        pytest.param([10.0, 100.0], 35.0, False, id="exactly-half-dark"),
        pytest.param([34.9, 34.9, 35.0], 35.0, True, id="just-below-threshold"),
        pytest.param([35.0, 35.0, 0.0], 35.0, False, id="threshold-is-not-dark"),
        pytest.param([40.0, 40.0, 60.0], 50.0, True, id="custom-threshold"),
        pytest.param([200.0] * 5, 35.0, False, id="daylight"),
    ],
)
def test_low_light_when_most_frames_are_dark(
    brightness: list[float], threshold: float, low_light: bool
) -> None:
    aggregator = IntervalAggregator([DOOR], [], low_light_brightness=threshold)
    for second, value in enumerate(brightness):
        aggregator.add(events(), FrameQuality(at("12:00:00") + timedelta(seconds=second), value))
    partial = aggregator.close(at("12:00:30"))
    assert partial is not None
    assert partial.quality.low_light is low_light


@pytest.mark.parametrize(
    ("dropped", "expected"),
    [
        pytest.param([0, 0, 0, 0], [0, 0], id="none"),
        pytest.param([0, 3, 0, 2], [3, 2], id="one-per-interval"),
        pytest.param([7, 1, 4, 0], [8, 4], id="many"),
    ],
)
def test_dropped_frames_are_summed_per_interval(dropped: list[int], expected: list[int]) -> None:
    aggregator = IntervalAggregator([DOOR], [])
    clocks = ["12:00:10", "12:00:50", "12:01:10", "12:01:20"]
    intervals: list[IntervalCount] = []
    for clock, frames_dropped in zip(clocks, dropped, strict=True):
        intervals += aggregator.add(events(), quality(clock, dropped=frames_dropped))
    last = aggregator.close(at("12:01:21"))
    assert last is not None
    assert [interval.quality.frames_dropped for interval in [*intervals, last]] == expected


@pytest.mark.parametrize(
    ("clocks", "starts", "door_in", "observed_s"),
    [
        pytest.param(
            ["12:00:10", "12:00:11", "12:00:05", "12:00:12"],
            ["12:00:00"],
            [1],
            [2.0],
            id="back-within-interval",
        ),
        pytest.param(
            ["12:01:00.5", "12:00:59.5", "12:01:01"], ["12:01:00"], [1], [0.5], id="back-across-boundary"
        ),
        pytest.param(
            ["12:00:58", "12:01:02", "12:00:30", "12:01:05"],
            ["12:00:00", "12:01:00"],
            [0, 1],
            [2.0, 2.0],
            id="back-after-closing-an-interval",
        ),
    ],
)
def test_clock_going_back_counts_in_the_current_interval(
    caplog: pytest.LogCaptureFixture,
    clocks: list[str],
    starts: list[str],
    door_in: list[int],
    observed_s: list[float],
) -> None:
    # The third frame is the one from the past; it carries the crossing.
    frames = [(clock, events((DOOR, Direction.IN)) if i == 2 else events()) for i, clock in enumerate(clocks)]
    with caplog.at_level(logging.WARNING, logger="edge.aggregate.intervals"):
        intervals = run(frames, close_at=clocks[-1])
    assert [interval.start for interval in intervals] == [at(start) for start in starts]
    assert [interval.lines[0].in_count for interval in intervals] == door_in
    assert [interval.quality.observed_s for interval in intervals] == pytest.approx(observed_s)
    assert sum(interval.quality.frames for interval in intervals) == len(clocks)
    assert [record.message for record in caplog.records if "went back" in record.message] != []
    assert len([record for record in caplog.records if "went back" in record.message]) == 1


def test_clock_step_warns_once_per_step(caplog: pytest.LogCaptureFixture) -> None:
    clocks = ["12:00:10", "12:00:05", "12:00:06", "12:00:11", "12:00:07"]
    with caplog.at_level(logging.WARNING, logger="edge.aggregate.intervals"):
        run([(clock, events()) for clock in clocks], close_at="12:00:12")
    assert len([record for record in caplog.records if "went back" in record.message]) == 2


NAIVE = datetime(2024, 5, 6, 12, 5, 0)  # no tzinfo: the point of the tests that use it
Call = Callable[[IntervalAggregator], object]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        pytest.param(
            lambda agg: agg.add(events(), FrameQuality(NAIVE, 100.0)),
            "quality.captured_at must be timezone-aware",
            id="naive-captured-at",
        ),
        pytest.param(lambda agg: agg.close(NAIVE), "now must be timezone-aware", id="naive-close"),
        pytest.param(
            lambda agg: agg.add(events(), quality("12:05:00", dropped=-1)),
            "quality.frames_dropped",
            id="negative-dropped-frames",
        ),
        pytest.param(
            lambda agg: agg.add(events((LineId("nope"), Direction.IN)), quality("12:05:00")),
            "unknown line id 'nope'",
            id="unknown-line",
        ),
        pytest.param(
            lambda agg: agg.add(
                CountEvents(0, 0.0, (), (ZoneOccupancy(ZoneId("nope"), 0.0, 1),), ()), quality("12:05:00")
            ),
            "unknown zone id 'nope'",
            id="unknown-zone",
        ),
        pytest.param(
            lambda agg: agg.close(
                at("12:05:00"), CountEvents(0, 0.0, (), (), (ZoneVisit(ZoneId("nope"), 0.0, 1.0),))
            ),
            "unknown zone id 'nope'",
            id="unknown-zone-at-close",
        ),
    ],
)
def test_bad_frames_are_rejected_and_leave_the_aggregator_unchanged(call: Call, message: str) -> None:
    aggregator = IntervalAggregator([DOOR], [TABLE])
    aggregator.add(events((DOOR, Direction.IN)), quality("12:00:10"))
    with pytest.raises(ValueError, match=message):
        call(aggregator)
    partial = aggregator.close(at("12:00:10.5"))
    assert partial is not None
    assert (partial.start, partial.lines, partial.quality.frames) == (
        at("12:00:00"),
        (LineInterval(DOOR, 1, 0),),
        1,
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({"interval_s": 0}, "interval_s", id="zero"),
        pytest.param({"interval_s": 5}, "interval_s", id="shorter-than-10s"),
        pytest.param({"interval_s": 70}, "interval_s", id="does-not-divide-the-hour"),
        pytest.param({"interval_s": 7200}, "interval_s", id="longer-than-an-hour"),
        pytest.param({"interval_s": 60.0}, "interval_s", id="float"),
        pytest.param({"interval_s": True}, "interval_s", id="bool"),
        pytest.param({"low_light_brightness": -1.0}, "low_light_brightness", id="negative-brightness"),
        pytest.param({"low_light_brightness": 256.0}, "low_light_brightness", id="brightness-above-255"),
        pytest.param({"low_light_brightness": float("nan")}, "low_light_brightness", id="nan-brightness"),
        pytest.param({"max_frame_gap_s": 0.0}, "max_frame_gap_s", id="zero-gap"),
        pytest.param({"max_frame_gap_s": 60.0}, "max_frame_gap_s", id="gap-as-long-as-the-interval"),
        pytest.param({"max_frame_gap_s": float("inf")}, "max_frame_gap_s", id="infinite-gap"),
        pytest.param({"max_frame_gap_s": float("nan")}, "max_frame_gap_s", id="nan-gap"),
        pytest.param({"line_ids": [DOOR, DOOR]}, "line_ids", id="duplicate-line"),
        pytest.param({"zone_ids": [TABLE, TABLE]}, "zone_ids", id="duplicate-zone"),
    ],
)
def test_constructor_rejects_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {"line_ids": [DOOR], "zone_ids": [TABLE], **kwargs}
    with pytest.raises(ValueError, match=message):
        IntervalAggregator(**arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize("interval_s", [10, 15, 60, 300, 900, 3600], ids=lambda s: f"{s}s")
def test_constructor_accepts_divisors_of_the_hour(interval_s: int) -> None:
    assert IntervalAggregator([DOOR], [], interval_s=interval_s).interval_s == interval_s


def test_snapshot_is_what_close_would_report_now_and_changes_nothing() -> None:
    aggregator = IntervalAggregator([DOOR, SIDE], [TABLE, WINDOW])
    twin = IntervalAggregator([DOOR, SIDE], [TABLE, WINDOW])
    frames = [
        ("12:00:00.5", events((DOOR, Direction.IN), table=2)),
        ("12:00:01.0", events(table=1, visits_s=[4.0])),
        ("12:00:01.5", events((SIDE, Direction.OUT), table=1)),
    ]
    for clock, frame_events in frames:
        aggregator.add(frame_events, quality(clock))
        twin.add(frame_events, quality(clock))
    assert aggregator.snapshot(at("11:59:00")) is not None  # a clock behind adds no time
    partial = aggregator.snapshot(at("12:00:02.0"))
    assert partial == twin.close(at("12:00:02.0"))
    assert partial is not None
    assert partial.quality.observed_s == pytest.approx(1.5)  # observed seconds only: coverage 0.025
    assert partial.lines == (LineInterval(DOOR, 1, 0), LineInterval(SIDE, 0, 1))
    # The aggregator goes on as if no snapshot had been taken.
    aggregator.add(events((DOOR, Direction.IN)), quality("12:00:30"))
    later = aggregator.close(at("12:00:30.5"))
    assert later is not None
    assert later.lines[0] == LineInterval(DOOR, 2, 0)
    assert aggregator.snapshot(at("12:00:31")) is None  # closed


def test_snapshot_before_any_frame_is_none() -> None:
    assert IntervalAggregator([DOOR], []).snapshot(at("12:00:00")) is None
