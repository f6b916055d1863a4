"""CountTotals: run totals from CountEvents (moved from count/ with the totals)."""

from __future__ import annotations

import pytest

from edge.aggregate import CountTotals
from edge.records import (
    CountEvents,
    Crossing,
    Direction,
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


def _frame(timestamp_s: float, table: int, window: int = 0, *crossings: Crossing) -> CountEvents:
    occupancy = (ZoneOccupancy(TABLE, timestamp_s, table), ZoneOccupancy(WINDOW, timestamp_s, window))
    return CountEvents(int(timestamp_s * 10), timestamp_s, crossings, occupancy, ())


def _tail(timestamp_s: float, *visits: ZoneVisit) -> CountEvents:
    return CountEvents(-1, timestamp_s, (), (), visits)


def test_every_line_and_zone_is_reported_even_when_nothing_happened() -> None:
    totals = CountTotals([DOOR, SIDE], [TABLE, WINDOW])
    summary = totals.summary()
    assert summary.lines == (LineInterval(DOOR, 0, 0), LineInterval(SIDE, 0, 0))
    assert summary.zones == (
        ZoneInterval(TABLE, None, 0, 0, None, None, None),
        ZoneInterval(WINDOW, None, 0, 0, None, None, None),
    )
    assert summary.duration_s == 0.0


def test_crossings_are_counted_per_line_and_direction() -> None:
    totals = CountTotals([DOOR, SIDE], [])
    for index, (line_id, direction) in enumerate(
        [(DOOR, Direction.IN), (DOOR, Direction.IN), (DOOR, Direction.OUT), (SIDE, Direction.OUT)]
    ):
        totals.add(
            CountEvents(index, index * 0.1, (Crossing(line_id, direction, index * 0.1, index),), (), ())
        )
    summary = totals.summary()
    assert summary.line("door") == LineInterval(DOOR, 2, 1)
    assert summary.line("side") == LineInterval(SIDE, 0, 1)
    with pytest.raises(KeyError):
        summary.line("missing")


def test_mean_occupancy_is_weighted_by_time_until_the_next_frame() -> None:
    totals = CountTotals([], [TABLE, WINDOW])
    # Irregular frames (dropped frames between 1.5 s and 4 s), then the end of stream at 5 s.
    samples = [(0.0, 4), (1.0, 0), (1.5, 0), (4.0, 1)]
    for timestamp_s, people in samples:
        totals.add(_frame(timestamp_s, people, window=2))
    totals.add(_tail(5.0))
    table = totals.summary().zone("table")
    expected = (4 * 1.0 + 0 * 0.5 + 0 * 2.5 + 1 * 1.0) / 5.0
    assert table.mean_occupancy == pytest.approx(expected)
    assert table.mean_occupancy != pytest.approx(sum(p for _, p in samples) / len(samples))
    assert table.peak_occupancy == 4
    assert totals.summary().zone("window").mean_occupancy == pytest.approx(2.0)
    assert totals.summary().duration_s == pytest.approx(5.0)


def test_single_frame_falls_back_to_its_occupancy() -> None:
    totals = CountTotals([], [TABLE, WINDOW])
    totals.add(_frame(3.0, 2))
    assert totals.summary().zone("table").mean_occupancy == 2.0


def test_dwell_statistics() -> None:
    totals = CountTotals([], [TABLE, WINDOW])
    totals.add(
        _tail(10.0, ZoneVisit(TABLE, 0.0, 1.0), ZoneVisit(TABLE, 2.0, 8.0), ZoneVisit(TABLE, 3.0, 5.0))
    )
    table = totals.summary().zone("table")
    assert (table.visits, table.dwell_mean_s, table.dwell_median_s, table.dwell_max_s) == (3, 3.0, 2.0, 6.0)
    window = totals.summary().zone("window")
    assert (window.visits, window.dwell_mean_s, window.dwell_median_s, window.dwell_max_s) == (
        0,
        None,
        None,
        None,
    )


@pytest.mark.parametrize(
    ("events", "message"),
    [
        pytest.param(
            CountEvents(0, 0.0, (Crossing(LineId("nope"), Direction.IN, 0.0, 0),), (), ()),
            "unknown line id 'nope'",
            id="unknown-line",
        ),
        pytest.param(
            CountEvents(0, 0.0, (), (ZoneOccupancy(ZoneId("nope"), 0.0, 1),), ()),
            "unknown zone id 'nope'",
            id="unknown-zone-occupancy",
        ),
        pytest.param(
            CountEvents(0, 0.0, (), (), (ZoneVisit(ZoneId("nope"), 0.0, 1.0),)),
            "unknown zone id 'nope'",
            id="unknown-zone-visit",
        ),
    ],
)
def test_totals_reject_unknown_ids(events: CountEvents, message: str) -> None:
    totals = CountTotals([DOOR], [TABLE])
    with pytest.raises(ValueError, match=message):
        totals.add(events)


def test_totals_reject_time_going_backwards_and_duplicate_ids() -> None:
    totals = CountTotals([DOOR], [TABLE])
    totals.add(CountEvents(5, 5.0, (), (), ()))
    with pytest.raises(ValueError, match="backwards"):
        totals.add(CountEvents(4, 4.0, (), (), ()))
    with pytest.raises(ValueError, match="line_ids"):
        CountTotals([DOOR, DOOR], [])
    with pytest.raises(ValueError, match="zone_ids"):
        CountTotals([], [TABLE, TABLE])
