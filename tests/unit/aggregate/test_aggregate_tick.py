"""IntervalAggregator.tick: a blind camera still produces its intervals on time, observed once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from edge.aggregate import IntervalAggregator
from edge.records import CountEvents, Crossing, Direction, FrameQuality, LineId

DOOR = LineId("door")


def at(clock: str) -> datetime:
    return datetime.fromisoformat(f"2024-05-06T{clock}+00:00")


def frame(aggregator: IntervalAggregator, clock: str, crossings: int = 0) -> list[object]:
    events = CountEvents(
        0, 0.0, tuple(Crossing(DOOR, Direction.IN, 0.0, 0) for _ in range(crossings)), (), ()
    )
    return list(aggregator.add(events, FrameQuality(at(clock), 100.0)))


def test_tick_closes_the_intervals_of_a_blind_camera_on_time() -> None:
    aggregator = IntervalAggregator([DOOR], [])
    frame(aggregator, "12:00:08")
    frame(aggregator, "12:00:10", crossings=2)
    assert aggregator.tick(at("12:00:59")) == []  # the interval has not ended yet
    first = aggregator.tick(at("12:01:05"))
    assert [interval.start for interval in first] == [at("12:00:00")]
    assert first[0].lines[0].in_count == 2
    # 2 s between the frames, then the last frame stands for max_frame_gap_s (2 s) more.
    assert first[0].quality.observed_s == pytest.approx(4.0)
    later = aggregator.tick(at("12:03:30"))
    assert [interval.start for interval in later] == [at("12:01:00"), at("12:02:00")]
    assert all(interval.quality.coverage == 0.0 for interval in later)
    assert all(interval.quality.frames == 0 for interval in later)


def test_time_given_out_by_tick_is_not_counted_again_by_the_next_frame() -> None:
    aggregator = IntervalAggregator([DOOR], [])
    frame(aggregator, "12:00:59.5")
    (closed,) = aggregator.tick(at("12:01:00.2"))
    assert closed.quality.observed_s == pytest.approx(0.5)
    frame(aggregator, "12:01:00.5")
    frame(aggregator, "12:01:01.5")
    last = aggregator.close(at("12:01:01.5"))
    assert last is not None
    # 12:01:00.0-12:01:01.5 observed exactly once: 0.2 s from the tick, 1.3 s from the frames.
    assert last.quality.observed_s == pytest.approx(1.5)


def test_tick_after_a_long_stall_then_frames_again_observe_only_what_was_seen() -> None:
    aggregator = IntervalAggregator([DOOR], [])
    frame(aggregator, "12:00:30")
    aggregator.tick(at("12:02:10"))
    frame(aggregator, "12:02:40")
    frame(aggregator, "12:02:41")
    last = aggregator.close(at("12:02:41"))
    assert last is not None
    assert last.start == at("12:02:00")
    assert last.quality.observed_s == pytest.approx(1.0)


def test_tick_after_close_raises() -> None:
    aggregator = IntervalAggregator([DOOR], [])
    frame(aggregator, "12:00:01")
    aggregator.close(at("12:00:02"))
    with pytest.raises(RuntimeError):
        aggregator.tick(at("12:05:00"))


def test_tick_rejects_a_naive_time() -> None:
    aggregator = IntervalAggregator([DOOR], [])
    frame(aggregator, "12:00:01")
    with pytest.raises(ValueError, match="now"):
        aggregator.tick(datetime(2024, 5, 6, 12, 5))  # naive on purpose


def test_tick_with_the_clock_behind_closes_nothing() -> None:
    aggregator = IntervalAggregator([DOOR], [])
    frame(aggregator, "12:00:50")
    assert aggregator.tick(datetime(2024, 5, 6, 11, 0, tzinfo=UTC)) == []


def test_a_camera_blind_from_the_start_still_reports_its_intervals_on_time() -> None:
    aggregator = IntervalAggregator([DOOR], [])
    assert aggregator.tick(at("12:00:20")) == []  # opens 12:00-12:01, nothing seen
    blind = aggregator.tick(at("12:02:05"))
    assert [interval.start for interval in blind] == [at("12:00:00"), at("12:01:00")]
    assert all(interval.quality.observed_s == 0.0 for interval in blind)
    # The camera comes back: only what it saw from then on is observed.
    frame(aggregator, "12:02:30", crossings=1)
    frame(aggregator, "12:02:31")
    last = aggregator.close(at("12:02:31"))
    assert last is not None
    assert last.start == at("12:02:00")
    assert last.quality.observed_s == pytest.approx(1.0)
    assert last.lines[0].in_count == 1


def test_a_camera_never_seen_closes_a_blind_partial_interval_at_stop() -> None:
    aggregator = IntervalAggregator([DOOR], [])
    aggregator.tick(at("12:00:20"))
    last = aggregator.close(at("12:00:40"))
    assert last is not None
    assert last.quality.observed_s == 0.0
