"""ByteTracker on synthetic scenes: people walking at constant velocity, filmed at a given fps."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.records import Detections, TrackedFrame, TrackId
from edge.track import ByteTracker, Tracker

WIDTH_PX, HEIGHT_PX = 1280, 720
BOX_WIDTH_PX, BOX_HEIGHT_PX = 40.0, 100.0


@dataclass(frozen=True, slots=True)
class Walker:
    """A person whose box top-left moves at constant velocity; hidden while in a `hidden` window."""

    start: tuple[float, float]
    velocity_px_s: tuple[float, float] = (60.0, 0.0)
    score: float = 0.9
    appear_s: float = 0.0
    leave_s: float = math.inf
    hidden: tuple[tuple[float, float], ...] = ()

    def box(self, time_s: float) -> tuple[float, float, float, float]:
        left = self.start[0] + self.velocity_px_s[0] * time_s
        top = self.start[1] + self.velocity_px_s[1] * time_s
        return (left, top, left + BOX_WIDTH_PX, top + BOX_HEIGHT_PX)

    def visible(self, time_s: float) -> bool:
        if not self.appear_s <= time_s < self.leave_s:
            return False
        return not any(start <= time_s < end for start, end in self.hidden)


def film(walkers: list[Walker], fps: float, duration_s: float) -> list[Detections]:
    """The detections of every visible walker, one `Detections` per frame."""
    return film_at(walkers, [index / fps for index in range(round(duration_s * fps) + 1)])


def film_at(walkers: list[Walker], times_s: list[float]) -> list[Detections]:
    """The detections of every visible walker at each of ``times_s``."""
    frames = []
    for index, time_s in enumerate(times_s):
        seen = [walker for walker in walkers if walker.visible(time_s)]
        frames.append(
            Detections(
                frame_index=index,
                timestamp_s=time_s,
                width=WIDTH_PX,
                height=HEIGHT_PX,
                boxes=np.array([walker.box(time_s) for walker in seen], dtype=np.float32).reshape(-1, 4),
                scores=np.array([walker.score for walker in seen], dtype=np.float32),
            )
        )
    return frames


def run(tracker: Tracker, frames: list[Detections]) -> list[TrackedFrame]:
    return [tracker.update(detections) for detections in frames]


def ids_of(walker: Walker, frames: list[Detections], outputs: list[TrackedFrame]) -> list[TrackId]:
    """Ids of the observed tracks whose (filtered) box is on this walker's detection, frame by frame."""
    found: list[TrackId] = []
    for detections, output in zip(frames, outputs, strict=True):
        if not walker.visible(detections.timestamp_s):
            continue
        box = np.array(walker.box(detections.timestamp_s), dtype=np.float32)
        observed = [track for track in output.tracks if track.observed]
        if observed:
            nearest = max(observed, key=lambda track: box_iou(track.box, box))
            if box_iou(nearest.box, box) >= 0.7:
                found.append(nearest.track_id)
    return found


def box_iou(first: Any, second: Any) -> float:
    """IoU of two (left, top, right, bottom) boxes."""
    left, top = max(first[0], second[0]), max(first[1], second[1])
    right, bottom = min(first[2], second[2]), min(first[3], second[3])
    overlap = max(0.0, float(right - left)) * max(0.0, float(bottom - top))
    area = float(
        (first[2] - first[0]) * (first[3] - first[1]) + (second[2] - second[0]) * (second[3] - second[1])
    )
    return overlap / (area - overlap)


def all_ids(outputs: list[TrackedFrame]) -> set[TrackId]:
    return {track.track_id for output in outputs for track in output.tracks}


def test_one_person_walking_keeps_one_id_on_the_detection_box() -> None:
    walker = Walker(start=(100.0, 300.0), velocity_px_s=(120.0, 20.0))
    frames = film([walker], fps=10.0, duration_s=5.0)

    outputs = run(ByteTracker(), frames)

    assert all_ids(outputs) == {TrackId(1)}
    assert len(ids_of(walker, frames, outputs)) == len(frames)  # confirmed on the first frame
    assert all(len(output.tracks) == 1 and output.tracks[0].observed for output in outputs)
    assert all(output.ended == () for output in outputs)
    assert outputs[-1].frame_index == frames[-1].frame_index
    assert outputs[-1].timestamp_s == frames[-1].timestamp_s
    assert (outputs[-1].width, outputs[-1].height) == (WIDTH_PX, HEIGHT_PX)
    assert outputs[-1].tracks[0].score == pytest.approx(0.9)


@pytest.mark.parametrize("fps", [5.0, 10.0, 30.0], ids=["5fps", "10fps", "30fps"])
@pytest.mark.parametrize("vertical_offset_px", [0.0, 30.0], ids=["same-row", "offset"])
def test_two_people_crossing_paths_keep_their_ids(fps: float, vertical_offset_px: float) -> None:
    left = Walker(start=(100.0, 300.0), velocity_px_s=(150.0, 0.0))
    # They meet at 2.02 s, between frames, so no frame has two identical boxes to tell apart.
    right = Walker(start=(707.0, 300.0 + vertical_offset_px), velocity_px_s=(-150.0, 0.0))
    frames = film([left, right], fps=fps, duration_s=4.0)

    outputs = run(ByteTracker(), frames)

    left_ids, right_ids = set(ids_of(left, frames, outputs)), set(ids_of(right, frames, outputs))
    assert len(left_ids) == 1
    assert len(right_ids) == 1
    assert left_ids != right_ids
    assert all_ids(outputs) == left_ids | right_ids


@pytest.mark.parametrize(
    ("fps", "hidden_s", "keeps_id"),
    [
        (5.0, 0.6, True),
        (5.0, 1.2, True),
        (5.0, 2.4, False),
        (30.0, 0.2, True),
        (30.0, 1.2, True),
        (30.0, 2.4, False),
    ],
    ids=["5fps-short", "5fps-within", "5fps-beyond", "30fps-short", "30fps-within", "30fps-beyond"],
)
def test_a_gap_within_the_lost_buffer_keeps_the_id_and_a_longer_one_does_not(
    fps: float, hidden_s: float, keeps_id: bool
) -> None:
    walker = Walker(start=(100.0, 300.0), velocity_px_s=(80.0, 0.0), hidden=((2.0, 2.0 + hidden_s),))
    frames = film([walker], fps=fps, duration_s=6.0)

    outputs = run(ByteTracker(lost_buffer_s=1.5), frames)

    ids = ids_of(walker, frames, outputs)
    ended = [track_id for output in outputs for track_id in output.ended]
    if keeps_id:
        assert set(ids) == {TrackId(1)}
        assert ended == []
    else:
        assert set(ids) == {TrackId(1), TrackId(2)}
        assert ended == [TrackId(1)]
        last_seen_s = 2.0 - 1.0 / fps
        ended_at_s = next(output.timestamp_s for output in outputs if output.ended)
        assert last_seen_s + 1.5 - 1e-9 < ended_at_s <= last_seen_s + 1.5 + 1.0 / fps + 1e-9


def test_the_same_scene_gives_the_same_ids_at_5_and_30_fps() -> None:
    lost_buffer_s = 1.5
    walkers = [
        Walker(start=(50.0, 100.0), velocity_px_s=(100.0, 0.0)),
        Walker(start=(50.0, 300.0), velocity_px_s=(90.0, 10.0), hidden=((1.0, 2.0),)),
        Walker(start=(900.0, 500.0), velocity_px_s=(-80.0, 0.0), hidden=((1.5, 4.0),)),
        Walker(start=(600.0, 100.0), velocity_px_s=(0.0, 40.0), appear_s=2.0, leave_s=4.5),
    ]
    gaps_beyond_buffer = sum(
        end - start > lost_buffer_s for walker in walkers for start, end in walker.hidden
    )

    counts = {}
    for fps in (5.0, 30.0):
        frames = film(walkers, fps=fps, duration_s=7.0)
        outputs = run(ByteTracker(lost_buffer_s=lost_buffer_s), frames)
        counts[fps] = len(all_ids(outputs))
        assert all(len(set(ids_of(walker, frames, outputs))) <= 2 for walker in walkers)

    assert counts[5.0] == counts[30.0] == len(walkers) + gaps_beyond_buffer


def test_a_single_frame_false_positive_never_becomes_a_track() -> None:
    walker = Walker(start=(100.0, 300.0))
    ghost = Walker(start=(800.0, 100.0), velocity_px_s=(0.0, 0.0), appear_s=1.0, leave_s=1.05)
    frames = film([walker, ghost], fps=10.0, duration_s=3.0)
    assert sum(ghost.visible(detections.timestamp_s) for detections in frames) == 1

    outputs = run(ByteTracker(birth_frames=2), frames)
    eager = run(ByteTracker(birth_frames=1), frames)

    assert all_ids(outputs) == {TrackId(1)}
    assert not ids_of(ghost, frames, outputs)
    assert all(output.ended == () for output in outputs)
    assert ids_of(ghost, frames, eager)  # the same ghost with no birth delay is reported


@pytest.mark.parametrize("birth_frames", [1, 2, 3, 5], ids=lambda n: f"birth-{n}")
def test_a_late_arrival_is_reported_after_birth_frames(birth_frames: int) -> None:
    first = Walker(start=(100.0, 300.0))
    late = Walker(start=(700.0, 100.0), velocity_px_s=(0.0, 50.0), appear_s=1.0)
    frames = film([first, late], fps=10.0, duration_s=3.0)

    outputs = run(ByteTracker(birth_frames=birth_frames), frames)

    first_report_s = min(
        output.timestamp_s for output in outputs if any(t.track_id == TrackId(2) for t in output.tracks)
    )
    assert first_report_s == pytest.approx(1.0 + (birth_frames - 1) / 10.0)
    assert set(ids_of(late, frames, outputs)) == {TrackId(2)}


def test_low_score_detections_continue_a_track_but_never_start_one() -> None:
    strong = Walker(start=(100.0, 300.0), leave_s=1.0)
    weak_continuation = Walker(start=(100.0, 300.0), score=0.3, appear_s=1.0, leave_s=3.0)
    weak_stranger = Walker(start=(700.0, 100.0), velocity_px_s=(-30.0, 0.0), score=0.3)
    # Strong enough for the first stage, too weak to start a track.
    middling_stranger = Walker(start=(300.0, 500.0), velocity_px_s=(30.0, 0.0), score=0.55)
    frames = film([strong, weak_continuation, weak_stranger, middling_stranger], fps=10.0, duration_s=3.0)

    outputs = run(ByteTracker(high_score=0.5, low_score=0.1, new_track_score=0.6), frames)

    assert set(ids_of(strong, frames, outputs)) == {TrackId(1)}
    assert set(ids_of(weak_continuation, frames, outputs)) == {TrackId(1)}
    assert not ids_of(weak_stranger, frames, outputs)
    assert not ids_of(middling_stranger, frames, outputs)
    assert all_ids(outputs) == {TrackId(1)}


def test_detections_below_low_score_are_ignored() -> None:
    walker = Walker(start=(100.0, 300.0), leave_s=1.0)
    faint = Walker(start=(100.0, 300.0), score=0.05, appear_s=1.0)
    frames = film([walker, faint], fps=10.0, duration_s=4.0)

    outputs = run(ByteTracker(low_score=0.1, lost_buffer_s=1.5), frames)

    assert not ids_of(faint, frames, outputs)
    assert [track_id for output in outputs for track_id in output.ended] == [TrackId(1)]


@pytest.mark.parametrize("report_predicted_s", [0.0, 0.5, 1.0], ids=["off", "half-second", "one-second"])
def test_unseen_tracks_are_reported_as_predictions_for_report_predicted_s(report_predicted_s: float) -> None:
    walker = Walker(start=(100.0, 300.0), velocity_px_s=(100.0, 0.0), hidden=((2.0, 3.0),))
    frames = film([walker], fps=10.0, duration_s=4.0)

    outputs = run(ByteTracker(report_predicted_s=report_predicted_s), frames)

    predicted = [
        (output.timestamp_s, output.tracks[0])
        for output in outputs
        if output.tracks and not output.tracks[0].observed
    ]
    last_seen_s = 1.9
    assert len(predicted) == round(report_predicted_s * 10.0)
    for time_s, track in predicted:
        assert track.track_id == TrackId(1)
        assert last_seen_s < time_s <= last_seen_s + report_predicted_s + 1e-9
        # The prediction keeps walking: the foot point follows the hidden walker.
        true_left, _, true_right, true_bottom = walker.box(time_s)
        assert track.foot == pytest.approx(((true_left + true_right) / 2.0, true_bottom), abs=5.0)
    assert set(ids_of(walker, frames, outputs)) == {TrackId(1)}


def test_an_irregular_frame_rate_predicts_where_the_person_really_is() -> None:
    rng = np.random.default_rng(7)
    intervals_s = rng.choice([1.0 / 30.0, 1.0 / 15.0, 0.1, 0.2], size=60)  # 30 to 5 fps
    times_s = np.concatenate([[0.0], np.cumsum(intervals_s)]).tolist()
    hidden_from_s = times_s[40]
    walker = Walker(
        start=(50.0, 300.0), velocity_px_s=(90.0, -15.0), hidden=((hidden_from_s, hidden_from_s + 0.9),)
    )
    frames = film_at([walker], times_s)

    outputs = run(ByteTracker(report_predicted_s=1.0), frames)

    predictions = [
        (output.timestamp_s, track) for output in outputs for track in output.tracks if not track.observed
    ]
    assert predictions
    for time_s, track in predictions:
        true_left, _, true_right, true_bottom = walker.box(time_s)
        assert track.foot == pytest.approx(((true_left + true_right) / 2.0, true_bottom), abs=8.0)
    assert set(ids_of(walker, frames, outputs)) == {TrackId(1)}


def test_reset_ends_confirmed_tracks_and_ids_keep_counting() -> None:
    walkers = [Walker(start=(100.0, 300.0)), Walker(start=(600.0, 100.0))]
    tracker = ByteTracker()
    run(tracker, film(walkers, fps=10.0, duration_s=1.0))

    dropped = tracker.reset()
    after = run(tracker, film(walkers, fps=10.0, duration_s=1.0))

    assert sorted(dropped) == [TrackId(1), TrackId(2)]
    assert all_ids(after) == {TrackId(3), TrackId(4)}
    assert tracker.reset() == (TrackId(3), TrackId(4))
    assert tracker.reset() == ()


def test_empty_frames_and_time_going_back_are_harmless() -> None:
    tracker = ByteTracker()
    empty = Detections(0, 0.0, WIDTH_PX, HEIGHT_PX, np.empty((0, 4), np.float32), np.empty(0, np.float32))
    assert tracker.update(empty).tracks == ()
    walker = Walker(start=(100.0, 300.0), velocity_px_s=(0.0, 0.0))
    frames = film([walker], fps=10.0, duration_s=1.0)
    run(tracker, frames)

    rewound = tracker.update(frames[0])

    assert [track.track_id for track in rewound.tracks] == [TrackId(1)]


@settings(max_examples=25, deadline=None)
@given(
    starts=st.lists(
        st.tuples(
            st.floats(0.0, 1100.0), st.floats(0.0, 600.0), st.floats(-150.0, 150.0), st.floats(0.0, 3.0)
        ),
        min_size=1,
        max_size=8,
    ),
    drop_seed=st.integers(0, 2**32 - 1),
    fps=st.sampled_from([5.0, 12.0, 30.0]),
)
def test_ids_are_unique_increasing_and_never_come_back(
    starts: list[tuple[float, float, float, float]], drop_seed: int, fps: float
) -> None:
    walkers = [
        Walker(start=(x, y), velocity_px_s=(speed, 0.0), appear_s=appear_s, leave_s=appear_s + 2.0)
        for x, y, speed, appear_s in starts
    ]
    rng = np.random.default_rng(drop_seed)
    frames = []
    for detections in film(walkers, fps=fps, duration_s=6.0):  # flicker: drop a third at random
        keep = rng.random(len(detections)) > 0.33
        scores = rng.uniform(0.05, 1.0, len(detections)).astype(np.float32)
        frames.append(
            Detections(
                detections.frame_index,
                detections.timestamp_s,
                WIDTH_PX,
                HEIGHT_PX,
                detections.boxes[keep],
                scores[keep],
            )
        )

    outputs = run(ByteTracker(), frames)

    _check_id_invariants(frames, outputs)


def _check_id_invariants(frames: list[Detections], outputs: list[TrackedFrame]) -> None:
    highest = 0
    ended: set[int] = set()
    reported: set[int] = set()
    for detections, output in zip(frames, outputs, strict=True):
        ids = [int(track.track_id) for track in output.tracks]
        assert ids == sorted(set(ids))
        assert not ended & set(ids)
        for track_id in ids:
            if track_id not in reported:
                assert track_id == highest + 1  # new ids: the next integer, from 1
                highest = track_id
                reported.add(track_id)
        assert set(output.ended) <= reported - ended
        ended |= {int(track_id) for track_id in output.ended}
        for track in output.tracks:
            if track.observed:  # the filtered box stays on the detection it was corrected with
                assert max(box_iou(track.box, box) for box in detections.boxes) >= 0.5


@pytest.mark.parametrize(
    ("keyword", "value"),
    [
        ("high_score", 1.5),
        ("high_score", math.nan),
        ("low_score", -0.1),
        ("low_score", 0.7),
        ("new_track_score", 0.4),
        ("new_track_score", 1.1),
        ("first_stage_max_iou_distance", 1.2),
        ("second_stage_max_iou_distance", -0.5),
        ("unconfirmed_max_iou_distance", 2.0),
        ("lost_buffer_s", -1.0),
        ("lost_buffer_s", math.inf),
        ("report_predicted_s", -0.1),
        ("report_predicted_s", 2.0),
        ("birth_frames", 0),
        ("birth_frames", 1.5),
        ("birth_frames", True),
        ("tentative_s", -0.1),
        ("tentative_s", math.nan),
    ],
    ids=str,
)
def test_bad_arguments_raise_value_error_naming_them(keyword: str, value: Any) -> None:
    with pytest.raises(ValueError, match=keyword):
        ByteTracker(**{keyword: value})
