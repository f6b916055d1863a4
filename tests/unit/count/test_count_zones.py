"""Zones: occupancy, visits and dwell, through SceneCounter."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from edge.count import SceneCounter
from edge.records import CountEvents, TrackedFrame, ZoneVisit
from tests.unit.count.count_walks import (
    Predicted,
    Step,
    Walks,
    frames_from_walks,
    line,
    run_counter,
    straight,
    summarise,
    track_at,
    zone,
)

TABLE = zone([(0.2, 0.2), (0.8, 0.2), (0.8, 0.8), (0.2, 0.8)], "table")
CORNER = zone([(0.85, 0.85), (1.0, 0.85), (1.0, 1.0), (0.85, 1.0)], "corner")
FPS = 10.0
INSIDE = (0.5, 0.5)
OUTSIDE = (0.05, 0.5)


def _visits(events: list[CountEvents]) -> list[ZoneVisit]:
    return [visit for item in events for visit in item.visits]


def _run(walks: Walks, **options: float) -> list[CountEvents]:
    counter = SceneCounter([], [TABLE], **options)
    return run_counter(counter, frames_from_walks(walks, fps=FPS), fps=FPS)


def test_occupancy_counts_observed_and_predicted_feet_inside() -> None:
    counter = SceneCounter([], [TABLE, CORNER])
    tracks = (
        track_at(1, 0.5, 0.5),
        track_at(2, 0.3, 0.7, observed=False),
        track_at(3, 0.9, 0.9),
        track_at(4, 0.1, 0.1),
    )
    events = counter.update(TrackedFrame(0, 0.0, 1024, 512, tracks))
    assert [(o.zone_id, o.people, o.timestamp_s) for o in events.occupancy] == [
        ("table", 2, 0.0),
        ("corner", 1, 0.0),
    ]


def test_dwell_of_a_person_entering_and_leaving() -> None:
    walk: Sequence[Step] = [OUTSIDE] * 5 + [INSIDE] * 20 + [(0.95, 0.5)] * 3
    events = _run({1: walk})
    visits = _visits(events)
    # First seen inside at frame 5, first seen outside at frame 25.
    assert visits == [ZoneVisit(TABLE.zone_id, 5 / FPS, 25 / FPS)]
    assert [item.frame_index for item in events if item.visits] == [25]


def test_visit_closed_when_the_track_ends() -> None:
    handover_s = 1.0
    walks: Walks = {1: [INSIDE] * 10, 2: [(0.95, 0.95)] * 30}
    events = _run(walks, handover_s=handover_s)
    reported = [(item.timestamp_s, visit) for item in events for visit in item.visits]
    assert len(reported) == 1
    reported_s, visit = reported[0]
    last_seen_s = 9 / FPS
    assert visit == ZoneVisit(TABLE.zone_id, 0.0, last_seen_s)
    # Reported as soon as nobody can take the track over any more, not at the end of the stream.
    assert handover_s < reported_s - last_seen_s <= handover_s + 1 / FPS + 1e-9


def test_finish_closes_visits_of_people_still_inside() -> None:
    counter = SceneCounter([], [TABLE])
    frames = frames_from_walks({1: [OUTSIDE] * 3 + [INSIDE] * 7}, fps=FPS, end_tracks=False)
    events = [counter.update(frame) for frame in frames]
    assert _visits(events) == []
    tail = counter.finish(1.0)
    assert tail.visits == (ZoneVisit(TABLE.zone_id, 0.3, 1.0),)
    assert (tail.frame_index, tail.occupancy, tail.crossings) == (frames[-1].frame_index, (), ())


def test_finish_reports_lost_track_at_its_last_sighting() -> None:
    counter = SceneCounter([], [TABLE])
    for frame in frames_from_walks({1: [INSIDE] * 4}, fps=FPS):
        counter.update(frame)
    assert counter.finish(0.5).visits == (ZoneVisit(TABLE.zone_id, 0.0, 0.3),)


@pytest.mark.parametrize(
    ("hysteresis", "expected_visits"),
    [pytest.param(0.01, 1, id="with-band-one-visit"), pytest.param(0.0, 5, id="without-band-many")],
)
def test_standing_on_the_edge_with_jitter(hysteresis: float, expected_visits: int) -> None:
    wobble: Sequence[Step] = [(0.8 + (0.004 if i % 2 else -0.004), 0.5) for i in range(10)]
    assert len(_visits(_run({1: wobble}, hysteresis=hysteresis))) == expected_visits


def test_id_switch_inside_zone_keeps_one_visit() -> None:
    walks: Walks = {1: [INSIDE] * 10, 2: [None] * 12 + [(0.52, 0.5)] * 10 + [(0.95, 0.5)]}
    assert _visits(_run(walks)) == [ZoneVisit(TABLE.zone_id, 0.0, 22 / FPS)]


def test_predicted_drift_does_not_end_a_visit() -> None:
    walk: Sequence[Step] = [INSIDE] * 3 + [Predicted(0.9, 0.5)] * 3 + [INSIDE] * 3
    events = _run({1: walk})
    assert _visits(events) == [ZoneVisit(TABLE.zone_id, 0.0, 8 / FPS)]
    assert [item.occupancy[0].people for item in events[:9]] == [1, 1, 1, 0, 0, 0, 1, 1, 1]


def test_summary_of_a_zone_run() -> None:
    """Two people: 2 s and 1 s visits, overlapping for 0.5 s."""
    walks: Walks = {
        1: [INSIDE] * 20 + [OUTSIDE],
        2: [None] * 15 + [(0.3, 0.3)] * 10 + [OUTSIDE],
    }
    frames = frames_from_walks(walks, fps=FPS)
    lines = [line((0.0, 0.95), (1.0, 0.95), "edge")]
    summary = summarise(lines, [TABLE], run_counter(SceneCounter(lines, [TABLE]), frames))
    table = summary.zone("table")
    assert (table.visits, table.peak_occupancy) == (2, 2)
    assert table.dwell_max_s == pytest.approx(2.0)
    assert table.dwell_mean_s == pytest.approx(1.5)
    assert table.dwell_median_s == pytest.approx(1.5)
    # Frames every 0.1 s; person 1 inside 0.0-1.9 s (20 frames), person 2 1.5-2.4 s (10 frames).
    duration_s = (len(frames) - 1) / FPS + 1 / FPS
    assert table.mean_occupancy == pytest.approx((20 + 10) / FPS / duration_s)
    assert (summary.line("edge").in_count, summary.line("edge").out_count) == (0, 0)


def test_walk_through_zone_and_across_line_together() -> None:
    walks: Walks = {1: straight((0.5, 0.1), (0.5, 0.9), 16)}
    spec = line((0.0, 0.5), (1.0, 0.5), "middle")
    counter = SceneCounter([spec], [TABLE])
    summary = summarise([spec], [TABLE], run_counter(counter, frames_from_walks(walks, fps=FPS)))
    assert (summary.line("middle").in_count, summary.line("middle").out_count) == (1, 0)
    assert summary.zone("table").visits == 1
