"""Roll-up invariants over random device intervals (Hypothesis) and the window's edges."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.city.export.records import DeviceInterval, LineDirectionCount
from edge.city.export.rollup import export_window, roll_up
from edge.city.export.sites import ChannelConfig, SiteConfig
from edge.records import Direction
from tests.city.export.dataset import PARIS

DAY = date(2026, 6, 1)
CHANNEL = ChannelConfig(
    channel_id="c-in",
    device_id="cam",
    line_id="door",
    direction=Direction.IN,
    compass="N",
    started_at=datetime(2026, 1, 1, tzinfo=UTC),
)
SITE = SiteConfig(site_id="site", name="Site", longitude=4.76, latitude=44.71, channels=(CHANNEL,))
MINIMUM_COVERAGE = 0.9
# One random minute of a day: present or not, its coverage, its count (None: suppressed).
MINUTES = st.dictionaries(
    st.integers(min_value=0, max_value=24 * 60 - 1),
    st.tuples(st.sampled_from([0.0, 0.5, 0.9, 1.0]), st.one_of(st.none(), st.integers(0, 5))),
    max_size=400,
)


def _intervals(minutes: dict[int, tuple[float, int | None]]) -> list[DeviceInterval]:
    window = export_window(DAY, DAY, PARIS, 900)
    intervals = []
    for minute, (coverage, count) in sorted(minutes.items()):
        start = window.start + timedelta(minutes=minute)
        counts = (
            LineDirectionCount("door", Direction.IN, count),
            LineDirectionCount("door", Direction.OUT, 0),
        )
        intervals.append(
            DeviceInterval("cam", "site", minute + 1, start, start + timedelta(minutes=1), coverage, counts)
        )
    return intervals


@settings(max_examples=60, deadline=None)
@given(MINUTES)
def test_quarter_hours_follow_their_minutes(minutes: dict[int, tuple[float, int | None]]) -> None:
    """Each quarter-hour: empty unless 90 % observed and nothing suppressed; else its minutes' sum."""
    rows = roll_up(_intervals(minutes), [SITE], export_window(DAY, DAY, PARIS, 900), MINIMUM_COVERAGE)
    assert len(rows) == 96
    for index, row in enumerate(rows):
        inside = [minutes[m] for m in range(index * 15, index * 15 + 15) if m in minutes]
        observed = sum(coverage for coverage, _ in inside) / 15
        if observed + 1e-9 < MINIMUM_COVERAGE or any(count is None for _, count in inside):
            assert row.count is None
        else:
            assert row.count == sum(count or 0 for _, count in inside)


@settings(max_examples=60, deadline=None)
@given(MINUTES)
def test_an_hour_is_the_sum_of_its_quarters_when_all_are_published(
    minutes: dict[int, tuple[float, int | None]],
) -> None:
    intervals = _intervals(minutes)
    quarters = roll_up(intervals, [SITE], export_window(DAY, DAY, PARIS, 900), MINIMUM_COVERAGE)
    hours = roll_up(intervals, [SITE], export_window(DAY, DAY, PARIS, 3600), MINIMUM_COVERAGE)
    assert len(hours) == 24
    for index, hour in enumerate(hours):
        parts = [quarter.count for quarter in quarters[index * 4 : index * 4 + 4]]
        if all(part is not None for part in parts):
            # Four published quarters make a published hour, and it is their sum.
            assert hour.count == sum(part or 0 for part in parts)


def test_no_interval_means_empty_never_zero() -> None:
    rows = roll_up([], [SITE], export_window(DAY, DAY, PARIS, 900), MINIMUM_COVERAGE)
    assert [row.count for row in rows] == [None] * 96


def test_interval_without_the_line_adds_nothing() -> None:
    """A line absent from an interval (not in that calibration) was not counted: no coverage."""
    window = export_window(DAY, DAY, PARIS, 900)
    other_line = (LineDirectionCount("gate", Direction.IN, 3),)
    intervals = [
        DeviceInterval(
            "cam",
            "site",
            n,
            window.start + timedelta(minutes=n),
            window.start + timedelta(minutes=n + 1),
            1.0,
            other_line,
        )
        for n in range(15)
    ]
    assert roll_up(intervals, [SITE], window, MINIMUM_COVERAGE)[0].count is None


def test_interval_from_another_site_adds_nothing() -> None:
    """A device moved to another site no longer counts for its old site's channels."""
    window = export_window(DAY, DAY, PARIS, 900)
    counts = (LineDirectionCount("door", Direction.IN, 3),)
    minutes = [timedelta(minutes=n) for n in range(16)]
    moved = [
        DeviceInterval("cam", "other-site", n, window.start + at, window.start + at + minutes[1], 1.0, counts)
        for n, at in enumerate(minutes[:15])
    ]
    assert roll_up(moved, [SITE], window, MINIMUM_COVERAGE)[0].count is None
    here = [DeviceInterval("cam", "site", i.seq, i.start, i.end, i.coverage, i.counts) for i in moved]
    assert roll_up(here, [SITE], window, MINIMUM_COVERAGE)[0].count == 45


@pytest.mark.parametrize(
    ("first", "last", "step_s", "slots", "error"),
    [
        (date(2026, 3, 29), date(2026, 3, 29), 900, 92, None),
        (date(2026, 10, 25), date(2026, 10, 25), 3600, 25, None),
        (date(2026, 3, 28), date(2026, 3, 30), 3600, 71, None),
        (date(2026, 1, 5), date(2026, 1, 5), 600, 0, "step_s must be one of"),
        (date(2026, 1, 5), date(2026, 1, 4), 900, 0, "is before first_day"),
    ],
    ids=["spring-quarters", "autumn-hours", "three-days", "bad-step", "reversed"],
)
def test_window(first: date, last: date, step_s: int, slots: int, error: str | None) -> None:
    if error:
        with pytest.raises(ValueError, match=error):
            export_window(first, last, PARIS, step_s)
        return
    window = export_window(first, last, PARIS, step_s)
    assert window.slot_count == slots
    assert window.start.astimezone(PARIS).hour == 0
    assert window.end.astimezone(PARIS).hour == 0


def test_slots_outside_the_channels_period_are_left_out() -> None:
    """Slots starting before started_at or at/after ended_at are not the channel's."""
    window = export_window(DAY, DAY, PARIS, 3600)
    started = window.start + timedelta(hours=6, minutes=30)
    ended = window.start + timedelta(hours=18)
    bounded = CHANNEL.model_copy(update={"started_at": started, "ended_at": ended})
    site = SITE.model_copy(update={"channels": (bounded,)})
    rows = roll_up([], [site], window, MINIMUM_COVERAGE)
    assert [row.start.astimezone(PARIS).hour for row in rows] == list(range(7, 18))


# Consecutive device intervals of mixed lengths with gaps, so most do not align with the slots:
# (gap before it in s, length in s, coverage, count or None).
RUNS = st.lists(
    st.tuples(
        st.integers(0, 400),
        st.sampled_from([10, 60, 300, 900, 3600]),
        st.sampled_from([0.5, 0.95, 1.0]),
        st.one_of(st.none(), st.integers(0, 9)),
    ),
    max_size=120,
)


@settings(max_examples=60, deadline=None)
@given(RUNS)
def test_misaligned_intervals_keep_hours_and_quarters_consistent(
    runs: list[tuple[int, int, float, int | None]],
) -> None:
    """Whatever the alignment, a published hour whose quarters are all published is their sum, and
    each published count is made of whole interval counts (no interval split or counted twice)."""
    window = export_window(DAY, DAY, PARIS, 900)
    intervals, at = [], window.start
    for seq, (gap_s, length_s, coverage, count) in enumerate(runs, start=1):
        at += timedelta(seconds=gap_s)
        counts = (LineDirectionCount("door", Direction.IN, count),)
        intervals.append(
            DeviceInterval("cam", "site", seq, at, at + timedelta(seconds=length_s), coverage, counts)
        )
        at += timedelta(seconds=length_s)
    quarters = roll_up(intervals, [SITE], window, MINIMUM_COVERAGE)
    hours = roll_up(intervals, [SITE], export_window(DAY, DAY, PARIS, 3600), MINIMUM_COVERAGE)
    for index, hour in enumerate(hours):
        parts = [quarter.count for quarter in quarters[index * 4 : index * 4 + 4]]
        if all(part is not None for part in parts):
            assert hour.count == sum(part or 0 for part in parts)
    published = sum(row.count or 0 for row in quarters)
    assert published <= sum(item.count or 0 for interval in intervals for item in interval.counts)
