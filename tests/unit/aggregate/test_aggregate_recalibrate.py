"""IntervalAggregator.recalibrate: a calibration saved mid-interval gives one record for the slot (D-051)."""

from __future__ import annotations

import pytest

from edge.aggregate import IntervalAggregator
from edge.records import CountEvents, Direction, IntervalCount, LineId, LineInterval, ZoneId
from tests.unit.aggregate.test_aggregate_intervals import DOOR, SIDE, TABLE, events, quality

KERB = LineId("kerb")
BENCH = ZoneId("bench")
IN, OUT = Direction.IN, Direction.OUT


def _frames(
    aggregator: IntervalAggregator, start_s: int, stop_s: int, **crossings: int
) -> list[IntervalCount]:
    """One frame every half second of minute 12:00 from `start_s` to `stop_s`; crossings on the first."""
    closed: list[IntervalCount] = []
    for tenth in range(start_s * 10, stop_s * 10, 5):
        first = tenth == start_s * 10
        frame = (
            events(*[(LineId(line), IN) for line, n in crossings.items() for _ in range(n)])
            if first
            else events()
        )
        closed += aggregator.add(frame, quality(f"12:00:{tenth // 10:02d}.{tenth % 10}"))
    return closed


def _lines(interval: IntervalCount) -> dict[str, tuple[int, int]]:
    return {line.line_id: (line.in_count, line.out_count) for line in interval.lines}


def test_two_saves_in_one_minute_give_one_fully_observed_record_with_each_line_under_its_id() -> None:
    aggregator = IntervalAggregator([DOOR, SIDE], [TABLE], interval_s=60)
    closed = _frames(aggregator, 0, 20, door=2, side=1)
    # Save 1: "side" renamed "kerb"; save 2: "kerb" removed again. "door" stays throughout.
    aggregator.recalibrate([DOOR, KERB], [TABLE])
    closed += _frames(aggregator, 20, 40, door=1, kerb=3)
    aggregator.recalibrate([DOOR], [TABLE, BENCH], CountEvents(0, 0.0, (), (), ()))
    closed += _frames(aggregator, 40, 60, door=4)
    closed += aggregator.add(events(), quality("12:01:00.0"))

    assert len(closed) == 1, "a save must not close the interval"
    (minute,) = closed
    assert (minute.start.minute, minute.end.minute) == (0, 1)
    assert _lines(minute) == {"door": (7, 0), "side": (1, 0), "kerb": (3, 0)}
    assert minute.quality.coverage == pytest.approx(1.0)
    assert [zone.zone_id for zone in minute.zones] == ["table", "bench"]
    assert _lines(_next_minute(aggregator)) == {"door": (0, 0)}, (
        "the next record holds the lines in force only"
    )


def _next_minute(aggregator: IntervalAggregator) -> IntervalCount:
    (closed,) = aggregator.tick(quality("12:02:00.5").captured_at)
    return closed


def test_the_old_counters_last_events_are_counted_under_the_old_ids() -> None:
    aggregator = IntervalAggregator([DOOR, SIDE], [], interval_s=60)
    _frames(aggregator, 0, 10)
    tail = events((SIDE, OUT))
    aggregator.recalibrate([DOOR], [], tail)
    (minute,) = _frames(aggregator, 10, 60) + aggregator.add(events(), quality("12:01:00.0"))
    assert _lines(minute) == {"door": (0, 0), "side": (0, 1)}


@pytest.mark.parametrize(
    ("line_ids", "tail", "problem"),
    [
        pytest.param([DOOR, DOOR], None, "line_ids must be unique", id="repeated-id"),
        pytest.param(
            [DOOR], events((KERB, IN)), "unknown line id 'kerb'", id="tail-for-a-line-never-calibrated"
        ),
    ],
)
def test_bad_recalibrations_are_refused_and_change_nothing(
    line_ids: list[LineId], tail: CountEvents | None, problem: str
) -> None:
    aggregator = IntervalAggregator([DOOR, SIDE], [], interval_s=60)
    _frames(aggregator, 0, 30, door=1)
    with pytest.raises(ValueError, match=problem):
        aggregator.recalibrate(line_ids, [], tail)
    (minute,) = _frames(aggregator, 30, 60, side=1) + aggregator.add(events(), quality("12:01:00.0"))
    assert _lines(minute) == {"door": (1, 0), "side": (1, 0)}
    assert minute.lines == (LineInterval(DOOR, 1, 0), LineInterval(SIDE, 1, 0))
