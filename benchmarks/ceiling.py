"""What a tracker could count at most on given detections: identities taken from the ground truth.

Each kept frame's detections (score >= `MIN_SCORE`) are paired one-to-one with that frame's
ground-truth boxes (largest total IoU, pairs under `MIN_IOU` dropped) and reported as tracks
carrying the person's gt id; unpaired detections are left out. Fed to the real counter, this is
the count of a perfect association on the same boxes at the same rate: the gap between it and
the real tracker is what association loses, the gap between it and 1.0 what the detector (and
the rate) lose. No device can run it: it needs the ground truth.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from benchmarks.clips import Clip, load_ground_truth
from edge.records import Detections, Track, TrackedFrame, TrackId
from edge.track.matching import iou_matrix

MIN_SCORE = 0.3
"""Detections this confident may take part (the tracker's second stage goes lower, to 0.1)."""
MIN_IOU = 0.5
"""A detection stands for a person when it overlaps their gt box this much (MOT's rule)."""


def identity_ceiling(clip: Clip, kept: list[Detections]) -> list[TrackedFrame]:
    """The kept frames' detections as tracks with ground-truth identities, one frame each."""
    truth_by_frame: dict[int, list[tuple[int, tuple[float, float, float, float]]]] = {}
    for truth in load_ground_truth(clip):
        truth_by_frame.setdefault(truth.frame_index, []).append((truth.person_id, truth.box))
    out = []
    for item in kept:
        people = truth_by_frame.get(item.frame_index, [])
        boxes = item.boxes[item.scores >= MIN_SCORE].astype(np.float64)
        tracks: list[Track] = []
        if people and boxes.shape[0]:
            overlap = iou_matrix(np.array([box for _, box in people], dtype=np.float64), boxes)
            rows, columns = linear_sum_assignment(-overlap)
            for row, column in zip(rows.tolist(), columns.tolist(), strict=True):
                if overlap[row, column] >= MIN_IOU:
                    left, top, right, bottom = boxes[column].tolist()
                    tracks.append(Track(TrackId(people[row][0]), (left, top, right, bottom), 1.0, True))
        tracks.sort(key=lambda track: track.track_id)
        out.append(TrackedFrame(item.frame_index, item.timestamp_s, item.width, item.height, tuple(tracks)))
    return out
