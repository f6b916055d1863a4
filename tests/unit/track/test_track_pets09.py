"""ByteTracker on real pedestrian trajectories: PETS09-S2L1 ground truth with flickering detections.

The MOT ground-truth boxes stand in for a perfect detector, except that every 4th detection of
each person is dropped, as a real detector flickers. The tracker must then keep each person's id
across the flicker; the only id changes allowed are where the ground truth itself loses a person
for longer than the lost buffer (occlusion behind the others), which no tracker of this kind
bridges.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from edge.records import Detections, TrackedFrame
from edge.track import ByteTracker
from edge.track.matching import assign, iou_matrix

SEQUENCE = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "PETS09-S2L1-300"
FPS = 7.0
WIDTH_PX, HEIGHT_PX = 768, 576
DROP_EVERY = 4
"""Every 4th detection of each person is dropped to simulate a flickering detector."""
LOST_BUFFER_S = 1.5
MATCH_IOU = 0.5
"""Minimum IoU for a reported track to count as covering a ground-truth box (MOT convention)."""

pytestmark = pytest.mark.skipif(not (SEQUENCE / "gt" / "gt.txt").is_file(), reason="shared data missing")


def load_ground_truth() -> np.ndarray:
    """Rows ``frame, id, left, top, right, bottom`` with conf != 0, sorted by frame then id."""
    rows = np.loadtxt(SEQUENCE / "gt" / "gt.txt", delimiter=",")
    rows = rows[rows[:, 6] != 0]
    rows = rows[np.lexsort((rows[:, 1], rows[:, 0]))]
    boxes = np.column_stack([rows[:, 2:4], rows[:, 2:4] + rows[:, 4:6]])
    return np.column_stack([rows[:, :2], boxes])


def flickering_detections(truth: np.ndarray) -> list[Detections]:
    """One `Detections` per frame (gt frame f at (f - 1) / FPS), every 4th per person dropped."""
    appearances: dict[int, int] = {}
    frames = []
    for frame in range(int(truth[:, 0].min()), int(truth[:, 0].max()) + 1):
        rows = truth[truth[:, 0] == frame]
        keep = []
        for person in rows[:, 1].astype(int).tolist():
            appearances[person] = appearances.get(person, 0) + 1
            keep.append(appearances[person] % DROP_EVERY != 0)
        boxes = rows[keep, 2:6].astype(np.float32)
        frames.append(
            Detections(
                frame_index=frame - 1,
                timestamp_s=(frame - 1) / FPS,
                width=WIDTH_PX,
                height=HEIGHT_PX,
                boxes=boxes,
                scores=np.full(len(boxes), 0.9, dtype=np.float32),
            )
        )
    return frames


def track_ids_per_person(truth: np.ndarray, outputs: list[TrackedFrame]) -> dict[int, list[int]]:
    """For each gt id, the reported track id covering it in each frame where one does."""
    history: dict[int, list[int]] = {}
    for output in outputs:
        rows = truth[truth[:, 0] == output.frame_index + 1]
        track_boxes = np.array([track.box for track in output.tracks]).reshape(-1, 4)
        matched_rows, matched_tracks = assign(1.0 - iou_matrix(rows[:, 2:6], track_boxes), 1.0 - MATCH_IOU)
        for row, track in zip(matched_rows.tolist(), matched_tracks.tolist(), strict=True):
            history.setdefault(int(rows[row, 1]), []).append(int(output.tracks[track].track_id))
    return history


def long_gaps(truth: np.ndarray) -> int:
    """How many times a gt person is absent for longer than the lost buffer and comes back."""
    count = 0
    for person in np.unique(truth[:, 1]):
        frames = np.sort(truth[truth[:, 1] == person, 0])
        unseen_s = np.diff(frames) / FPS
        count += int((unseen_s > LOST_BUFFER_S).sum())
    return count


def test_flickering_ground_truth_keeps_ids() -> None:
    truth = load_ground_truth()
    frames = flickering_detections(truth)
    people = len(np.unique(truth[:, 1]))
    unbridgeable = long_gaps(truth)
    assert sum(len(detections) for detections in frames) < len(truth)  # some were dropped

    tracker = ByteTracker(lost_buffer_s=LOST_BUFFER_S)
    outputs = [tracker.update(detections) for detections in frames]

    history = track_ids_per_person(truth, outputs)
    switches = sum(
        sum(before != after for before, after in itertools.pairwise(ids)) for ids in history.values()
    )
    reported_ids = {track.track_id for output in outputs for track in output.tracks}
    covered = sum(len(ids) for ids in history.values()) / len(truth)
    assert set(history) == set(np.unique(truth[:, 1]).astype(int).tolist())
    assert switches <= unbridgeable
    assert people <= len(reported_ids) <= people + unbridgeable
    # Every box is covered except a person's first frame (birth) and predictions that drift.
    assert covered > 0.97
