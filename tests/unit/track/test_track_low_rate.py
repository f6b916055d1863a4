"""Association at the rates a Raspberry Pi detects (2-4 per second): people who move further than
their own width between detections keep their ids, and every crossing is counted exactly once."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.aggregate import CountTotals
from edge.count import SceneCounter
from edge.records import Detections, LineId, LineSpec, Track, TrackedFrame, TrackId
from edge.track import ByteTracker

WIDTH, HEIGHT = 960, 540
BOX_W, BOX_H = 40.0, 100.0
LINE = LineSpec(LineId("street"), (0.5, 0.0), (0.5, 1.0))


def _frame(index: int, timestamp_s: float, feet: list[tuple[float, float]], score: float = 0.9) -> Detections:
    boxes = np.array(
        [[x - BOX_W / 2, y - BOX_H, x + BOX_W / 2, y] for x, y in feet], dtype=np.float32
    ).reshape(-1, 4)
    return Detections(index, timestamp_s, WIDTH, HEIGHT, boxes, np.full(len(feet), score, dtype=np.float32))


def _walk(
    starts: list[tuple[float, float]],
    velocities: list[tuple[float, float]],
    rate_fps: float,
    duration_s: float,
) -> list[Detections]:
    """People walking straight at constant velocity (px/s), seen `rate_fps` times a second."""
    frames = []
    for index in range(int(duration_s * rate_fps) + 1):
        t = index / rate_fps
        feet = [(x + vx * t, y + vy * t) for (x, y), (vx, vy) in zip(starts, velocities, strict=True)]
        feet = [(x, y) for x, y in feet if 0 <= x <= WIDTH and 0 <= y <= HEIGHT]
        frames.append(_frame(index, t, feet))
    return frames


def _ids_per_person(frames: list[Detections], tracker: ByteTracker) -> list[set[int]]:
    """The ids given to each person (matched to the detection it came from by the nearest foot)."""
    people = max(len(frame) for frame in frames)
    ids: list[set[int]] = [set() for _ in range(people)]
    for frame in frames:
        tracked = tracker.update(frame)
        for person, box in enumerate(frame.boxes.tolist()):
            foot = ((box[0] + box[2]) / 2, box[3])
            nearest = min(tracked.tracks, key=lambda t: np.hypot(t.foot[0] - foot[0], t.foot[1] - foot[1]))
            ids[person].add(int(nearest.track_id))
    return ids


def _count(
    frames: list[Detections], tracker: ByteTracker, lines: list[LineSpec]
) -> dict[str, tuple[int, int]]:
    counter = SceneCounter(lines, [])
    totals = CountTotals([line.line_id for line in lines], [])
    for frame in frames:
        totals.add(counter.update(tracker.update(frame)))
    totals.add(counter.finish(frames[-1].timestamp_s + 0.5))
    summary = totals.summary()
    return {
        line.line_id: (summary.line(line.line_id).in_count, summary.line(line.line_id).out_count)
        for line in lines
    }


@pytest.mark.parametrize(
    ("starts", "velocities", "rate_fps", "people_ids"),
    [
        # 80 px per detection: two box widths, no overlap at all between sightings.
        ([(100.0, 300.0)], [(160.0, 0.0)], 2.0, [1]),
        ([(100.0, 300.0)], [(120.0, 0.0)], 1.5, [1]),
        # Two people crossing paths, 70 px apart vertically at the start, meeting mid-frame.
        ([(200.0, 260.0), (760.0, 330.0)], [(140.0, 15.0), (-140.0, -15.0)], 2.0, [1, 1]),
        # A group of four walking abreast, side by side across the street (feet 40 px apart,
        # boxes 100 px tall: they overlap), each moving almost two widths per detection.
        ([(100.0, 250.0 + 40 * k) for k in range(4)], [(150.0, 0.0)] * 4, 2.0, [1, 1, 1, 1]),
        # The same group at 3 detections a second.
        ([(100.0, 250.0 + 40 * k) for k in range(4)], [(150.0, 0.0)] * 4, 3.0, [1, 1, 1, 1]),
    ],
    ids=[
        "jump-2-widths-2fps",
        "jump-2-widths-1.5fps",
        "crossing-paths-2fps",
        "four-abreast-2fps",
        "four-abreast-3fps",
    ],
)
def test_people_keep_one_id_each_at_pi_rates(
    starts: list[tuple[float, float]],
    velocities: list[tuple[float, float]],
    rate_fps: float,
    people_ids: list[int],
) -> None:
    frames = _walk(starts, velocities, rate_fps, duration_s=4.0)
    ids = _ids_per_person(frames, ByteTracker())
    assert [len(person) for person in ids] == people_ids
    assert len(set().union(*ids)) == len(starts)  # nobody shares an id


@pytest.mark.parametrize(
    ("starts", "velocities", "rate_fps"),
    [
        ([(200.0, 260.0), (760.0, 330.0)], [(140.0, 15.0), (-140.0, -15.0)], 2.0),
        ([(200.0, 260.0), (760.0, 330.0)], [(140.0, 15.0), (-140.0, -15.0)], 3.0),
        # Head on, on the same row: their boxes pass through each other.
        ([(200.0, 300.0), (760.0, 300.0)], [(150.0, 0.0), (-150.0, 0.0)], 3.0),
    ],
    ids=["2fps", "3fps", "head-on-3fps"],
)
def test_crossing_paths_count_each_person_in_their_own_direction(
    starts: list[tuple[float, float]], velocities: list[tuple[float, float]], rate_fps: float
) -> None:
    frames = _walk(starts, velocities, rate_fps, 4.0)
    # x = 0.5 from top to bottom: left -> right is `out`, right -> left is `in`.
    assert _count(frames, ByteTracker(), [LINE]) == {"street": (1, 1)}


def _meeting_after_a_miss(hidden_frames: set[int]) -> list[Detections]:
    """3 detections a second: A walks right (150 px/s) towards the line and is missed at frame 4,
    when C appears just ahead of A, walking left: the nearest box to A's track is C's."""
    frames = []
    for k in range(12):
        t = k / 3.0
        feet = [] if k in hidden_frames else [(300.0 + 150.0 * t, 300.0)]
        if k >= 4:
            feet.append((440.0 - 150.0 * (k - 4) / 3.0, 310.0))
        frames.append(_frame(k, t, [(x, y) for x, y in feet if x < WIDTH - 40]))
    return frames


def test_a_track_missed_once_does_not_turn_back_onto_someone_walking_the_other_way() -> None:
    # Without the turn-back veto, track 1 takes C and turns back, A is found again by a new
    # track past the line, and neither crossing counts (0, 0).
    frames = _meeting_after_a_miss({4})
    tracker = ByteTracker()
    outputs = [tracker.update(frame) for frame in frames]

    # Frame 5: track 1 has found A again past the line; C has a track of their own.
    found = [(int(t.track_id), t.foot[0]) for t in outputs[5].tracks if t.observed]
    assert [track_id for track_id, _ in found] == [1, 2]
    assert [x for _, x in found] == pytest.approx([550.0, 390.0], abs=5.0)
    assert _count(frames, ByteTracker(), [LINE]) == {"street": (0, 1)}


@pytest.mark.parametrize("rate_fps", [2.0, 3.0, 5.0])
def test_a_person_who_stops_and_turns_back_keeps_their_id(rate_fps: float) -> None:
    # Walking right, standing for two thirds of a second (a turn takes that long), walking back.
    walk = [300.0 + 150.0 * k / rate_fps for k in range(4)]
    standing = [walk[-1]] * round(rate_fps * 2 / 3)
    back = [walk[-1] - 150.0 * (k + 1) / rate_fps for k in range(5)]
    xs = walk + standing + back
    frames = [_frame(k, k / rate_fps, [(x, 300.0)]) for k, x in enumerate(xs)]
    tracker = ByteTracker()
    ids = {int(track.track_id) for frame in frames for track in tracker.update(frame).tracks}
    assert ids == {1}


def test_group_of_four_counts_four() -> None:
    frames = _walk([(100.0, 250.0 + 40 * k) for k in range(4)], [(150.0, 0.0)] * 4, 2.0, 6.0)
    assert _count(frames, ByteTracker(), [LINE]) == {"street": (0, 4)}


def test_a_line_crossed_while_the_track_is_tentative_still_counts() -> None:
    # First seen 40 px left of the line, confirmed at its second sighting 40 px right of it.
    frames = [_frame(0, 0.0, [])] + [
        _frame(k, k * 0.5, [(440.0 + 80.0 * (k - 1), 300.0)]) for k in range(1, 4)
    ]
    tracker = ByteTracker(birth_frames=2)
    assert _count(frames, tracker, [LINE]) == {"street": (0, 1)}


@pytest.mark.parametrize(
    ("tentative_s", "expected"),
    [(0.7, {"street": (0, 1)}), (0.0, {"street": (0, 0)})],
    ids=["waits-for-next-sighting", "bytetrack-drops-at-first-miss"],
)
def test_a_tentative_track_missed_once_at_pi_rate_still_counts(
    tentative_s: float, expected: dict[str, tuple[int, int]]
) -> None:
    # 3 detections a second; the person is found left of the line, missed once, then found twice
    # on the other side. Only a tentative track that waits for its next sighting sees the crossing.
    frames = [_frame(0, 0.0, [])] + [
        _frame(k, k / 3.0, [(400.0 + 50.0 * (k - 1), 300.0)] if k != 2 else []) for k in range(1, 6)
    ]
    tracker = ByteTracker(birth_frames=2, tentative_s=tentative_s)
    assert _count(frames, tracker, [LINE]) == expected


def test_by_default_a_tentative_track_missed_twice_at_2_per_second_still_counts() -> None:
    # A slow walk (0.6 heights a second) seen twice a second: found 30 px left of the line, missed
    # twice (unseen for 1.0 s at the second miss), then found on the other side.
    frames = [_frame(0, 0.0, [])] + [
        _frame(k, k / 2.0, [(450.0 + 30.0 * (k - 1), 300.0)] if k not in (2, 3) else []) for k in range(1, 8)
    ]
    assert _count(frames, ByteTracker(), [LINE]) == {"street": (0, 1)}


@pytest.mark.parametrize("rate_fps", [2.0, 3.0])
def test_a_tentative_track_missed_once_is_found_again_a_walk_away(rate_fps: float) -> None:
    # Walking at 1.2 heights a second: after a miss the person is more than a height from where
    # the unconfirmed track (no velocity yet) was seen; they are still confirmed and counted.
    step = 120.0 / rate_fps
    frames = [_frame(0, 0.0, [])] + [
        _frame(k, k / rate_fps, [(450.0 + step * (k - 1), 300.0)] if k != 2 else []) for k in range(1, 7)
    ]
    assert _count(frames, ByteTracker(), [LINE]) == {"street": (0, 1)}


def test_a_tentative_track_unseen_longer_than_the_tentative_time_is_dropped() -> None:
    tracker = ByteTracker(birth_frames=2, tentative_s=0.5)
    tracker.update(_frame(0, 0.0, []))
    tracker.update(_frame(1, 0.1, [(300.0, 300.0)]))
    tracker.update(_frame(2, 0.7, []))  # unseen for 0.6 s: the tentative track ends unreported
    again = tracker.update(_frame(3, 0.8, [(300.0, 300.0)]))
    later = tracker.update(_frame(4, 0.9, [(300.0, 300.0)]))
    assert again.tracks == ()  # a new tentative track, not the old one confirmed
    assert [int(track.track_id) for track in later.tracks] == [1]


def test_at_video_rate_a_tentative_track_missed_once_ends_as_in_bytetrack() -> None:
    # 25 fps: a box seen, missed, seen again is flicker, not a person walking; no track confirms.
    tracker = ByteTracker(birth_frames=2, tentative_s=0.7)
    outputs = [tracker.update(_frame(0, 0.0, []))]
    for k in range(1, 9):
        outputs.append(tracker.update(_frame(k, k / 25.0, [(300.0, 300.0)] if k % 2 else [])))
    assert all(output.tracks == () for output in outputs)


def test_the_tentative_crossing_is_reported_at_confirmation_only() -> None:
    tracker = ByteTracker(birth_frames=2)
    tracker.update(_frame(0, 0.0, []))
    first = tracker.update(_frame(1, 0.5, [(440.0, 300.0)]))
    second = tracker.update(_frame(2, 1.0, [(520.0, 300.0)]))
    third = tracker.update(_frame(3, 1.5, [(600.0, 300.0)]))
    assert first.tracks == ()
    assert second.tracks[0].origin_foot == pytest.approx((440.0, 300.0))
    assert third.tracks[0].origin_foot is None


def _box_frame(index: int, timestamp_s: float, boxes: list[tuple[float, float, float, float]]) -> Detections:
    array = np.array(boxes, dtype=np.float32).reshape(-1, 4)
    return Detections(index, timestamp_s, WIDTH, HEIGHT, array, np.full(len(boxes), 0.9, dtype=np.float32))


def test_at_video_rate_a_track_does_not_take_a_box_of_part_of_a_person() -> None:
    # 25 fps; in frame 5 the person is hidden and the detector boxes only a bag beside them, 60 %
    # of their height. One frame later nobody shrinks by 40 %: the track waits for the person.
    person = [(300.0 + 2.0 * k, 200.0, 340.0 + 2.0 * k, 300.0) for k in range(8)]
    frames = [_box_frame(k, k / 25.0, [person[k]]) for k in range(5)]
    frames.append(_box_frame(5, 5 / 25.0, [(312.0, 240.0, 340.0, 300.0)]))
    frames += [_box_frame(k, k / 25.0, [person[k]]) for k in (6, 7)]
    tracker = ByteTracker()
    outputs = [tracker.update(frame) for frame in frames]
    assert [track.observed for track in outputs[5].tracks if track.track_id == 1] == [False]
    assert [int(track.track_id) for track in outputs[7].tracks] == [1]


def test_at_pi_rate_a_person_walking_towards_the_camera_keeps_their_id() -> None:
    # 2 detections a second; the box grows by 40 % between detections (1.5 m to 1.07 m away).
    heights = [100.0 * 1.4**k for k in range(3)]
    frames = [
        _box_frame(k, k * 0.5, [(400.0 - height * 0.2, 450.0 - height, 400.0 + height * 0.2, 450.0)])
        for k, height in enumerate(heights)
    ]
    tracker = ByteTracker()
    ids = [[int(track.track_id) for track in tracker.update(frame).tracks] for frame in frames]
    assert ids == [[1], [1], [1]]


def test_a_chain_of_neighbours_is_not_shifted_to_match_one_more_track() -> None:
    # One person leaves at the left edge while the others stand still: nobody takes its id.
    standing = [(300.0, 300.0), (420.0, 300.0), (540.0, 300.0)]
    leaving = [[(120.0, 300.0)], [(20.0, 300.0)]]
    frames = [_frame(k, k * 0.5, (leaving[k] if k < 2 else []) + standing) for k in range(5)]
    tracker = ByteTracker()
    first = {t.foot[0]: int(t.track_id) for t in tracker.update(frames[0]).tracks}
    for frame in frames[1:]:
        last = tracker.update(frame)
    assert {round(t.foot[0]): int(t.track_id) for t in last.tracks if t.observed} == {
        300: first[300.0],
        420: first[420.0],
        540: first[540.0],
    }


@settings(max_examples=150, deadline=None)
@given(
    rate_fps=st.sampled_from([1.5, 2.0, 3.0, 5.0, 10.0, 30.0]),
    # Walking, 0.3 to 1.2 of the 100 px box height per second (1.4 m/s is about 0.8 heights/s).
    speed_px_s=st.floats(30.0, 120.0),
    missed=st.lists(st.booleans(), min_size=40, max_size=40),
    start_x=st.floats(60.0, 300.0),
)
def test_one_walk_across_counts_once_whatever_the_rate_and_misses(
    rate_fps: float, speed_px_s: float, missed: list[bool], start_x: float
) -> None:
    """A person walking across, with missed detections near the line: each miss comes after at
    least two sightings in a row (the tracker then knows the person's velocity)."""
    frames = []
    duration_s = (WIDTH - 60.0 - start_x) / speed_px_s
    seen_in_a_row = 0
    for index in range(int(duration_s * rate_fps)):
        t = index / rate_fps
        x = start_x + speed_px_s * t
        near_line = abs(x - WIDTH / 2) <= 200
        seen = not (missed[index % len(missed)] and seen_in_a_row >= 2 and near_line)
        frames.append(_frame(index, t, [(x, 300.0)] if seen else []))
        seen_in_a_row = seen_in_a_row + 1 if seen else 0
    assert sum(_count(frames, ByteTracker(), [LINE])["street"]) == 1


@settings(max_examples=200, deadline=None)
@given(
    switches=st.lists(st.integers(1, 30), min_size=0, max_size=8, unique=True),
    gaps=st.lists(st.integers(0, 2), min_size=30, max_size=30),
    with_origin=st.booleans(),
)
def test_no_crossing_counted_twice_under_any_id_handover(
    switches: list[int], gaps: list[int], with_origin: bool
) -> None:
    """Feed the counter one person whose id changes at arbitrary frames (each new id optionally
    bringing the tracker's `origin_foot`), with unseen frames between: at most one crossing."""
    counter = SceneCounter([LINE], [])
    totals = CountTotals([LINE.line_id], [])
    track_id = 1
    t = 0.0
    previous_foot: tuple[float, float] | None = None
    for index in range(30):
        t += 0.25 * (1 + gaps[index])
        foot = (200.0 + 20.0 * index, 300.0)
        new_id = index in switches
        if new_id:
            track_id += 1
        origin = previous_foot if (new_id and with_origin) else None
        box = (foot[0] - 20.0, foot[1] - 100.0, foot[0] + 20.0, foot[1])
        tracked = TrackedFrame(
            frame_index=index,
            timestamp_s=t,
            width=WIDTH,
            height=HEIGHT,
            tracks=(Track(TrackId(track_id), box, 0.9, True, origin),),
            ended=(),
        )
        totals.add(counter.update(tracked))
        previous_foot = foot
    totals.add(counter.finish(t + 1.0))
    line = totals.summary().line(LINE.line_id)
    assert line.in_count == 0
    assert line.out_count <= 1
