"""Box overlap and one-to-one assignment between tracks and detections.

`iou_matrix` is one broadcast over all pairs. `assign` solves the assignment with
`scipy.optimize.linear_sum_assignment` (D-006), but first takes out the pairs that have no rival
(the row's only candidate column whose only candidate is that row): in a crowd of well separated
people that is almost every pair, and the solver then only sees the few contested ones. The result
is the same as solving the whole matrix, because such a pair is a component of its own.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

Float64Array = npt.NDArray[np.float64]
IndexArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]

_MINIMUM_UNION_PX2 = 1e-9
"""Floor of the union area in square pixels, so degenerate boxes give IoU 0 instead of NaN."""

_UNMATCHABLE_MARGIN = 1e-4
"""Cost above the limit given to pairs that may not match, so leaving both unmatched costs the limit."""


def iou_matrix(first: Float64Array, second: Float64Array) -> Float64Array:
    """Intersection over union of every box in ``first`` with every box in ``second``.

    Args:
        first: N x 4 boxes (left, top, right, bottom).
        second: M x 4 boxes (left, top, right, bottom).

    Returns:
        N x M array in [0, 1]; 0 for degenerate (empty) boxes.
    """
    if first.shape[0] == 0 or second.shape[0] == 0:
        return np.zeros((first.shape[0], second.shape[0]))
    # In place, with three N x M buffers: for 200 people a fresh 320 kB temporary per operation
    # costs more (page faults) than the arithmetic.
    first_left, first_top, first_right, first_bottom = (first[:, k, None] for k in range(4))
    second_left, second_top, second_right, second_bottom = (second[:, k] for k in range(4))
    overlap = np.minimum(first_right, second_right)
    scratch = np.maximum(first_left, second_left)
    overlap -= scratch
    np.maximum(overlap, 0.0, out=overlap)
    height = np.minimum(first_bottom, second_bottom)
    np.maximum(first_top, second_top, out=scratch)
    height -= scratch
    np.maximum(height, 0.0, out=height)
    overlap *= height  # now the intersection area
    first_area = (first_right - first_left) * (first_bottom - first_top)
    second_area = (second_right - second_left) * (second_bottom - second_top)
    union = np.add(first_area, second_area, out=scratch)
    union -= overlap
    np.maximum(union, _MINIMUM_UNION_PX2, out=union)
    overlap /= union
    return overlap


def assign(cost: Float64Array, max_cost: float) -> tuple[IndexArray, IndexArray]:
    """Match rows to columns one-to-one, minimising total cost, never above ``max_cost``.

    Leaving a row and a column unmatched costs ``max_cost``, as ByteTrack's ``lapjv`` with
    ``cost_limit`` does: a pair is only worth matching if it is cheaper than that.

    Args:
        cost: N x M cost matrix (here IoU distance, ``1 - IoU``).
        max_cost: the largest cost a matched pair may have.

    Returns:
        ``(rows, columns)``: equal-length index arrays of the matched pairs, sorted by row.
    """
    rows, columns = np.nonzero(cost <= max_cost)
    per_row = np.bincount(rows, minlength=cost.shape[0])
    per_column = np.bincount(columns, minlength=cost.shape[1])
    alone = (per_row[rows] == 1) & (per_column[columns] == 1)
    if alone.all():  # also when nothing may match; np.nonzero gives rows in order
        return rows, columns
    # The rows and columns with a candidate that are not in a lone pair go to the solver.
    rest_rows = np.flatnonzero(per_row > 0)
    rest_rows = rest_rows[~np.isin(rest_rows, rows[alone])]
    rest_columns = np.flatnonzero(per_column > 0)
    rest_columns = rest_columns[~np.isin(rest_columns, columns[alone])]
    sub_cost = cost[np.ix_(rest_rows, rest_columns)]
    sub_cost[sub_cost > max_cost] = max_cost + _UNMATCHABLE_MARGIN
    sub_rows, sub_columns = linear_sum_assignment(sub_cost)
    keep = sub_cost[sub_rows, sub_columns] <= max_cost
    all_rows = np.concatenate([rows[alone], rest_rows[sub_rows[keep]]])
    all_columns = np.concatenate([columns[alone], rest_columns[sub_columns[keep]]])
    order = np.argsort(all_rows, kind="stable")
    return all_rows[order], all_columns[order]


MOTION_GATE_AFTER_S = 0.1
"""Unseen for less than this, a track continues on overlapping boxes only (IoU works there)."""

MAHALANOBIS_GATE_2DOF = 9.21
"""Squared Mahalanobis distance of a centre that a track's filter gives a 1 % chance (chi-square, 2 dof)."""

TURN_BACK_WITHIN_S = 0.35
"""Nobody walking turns back within this time: a track re-found this soon whose path would turn
back is meeting someone else walking the other way (a third of a second, the Pi's 3 detections a
second, with a margin for timestamp jitter)."""
TURN_BACK_COSINE = -0.7
"""Turning back is a change of direction by more than about 135 degrees (cosine below this)."""
TURN_BACK_MIN_SPEED_HEIGHTS_PER_S = 0.3
"""Both the track and the jump to the detection must move at least this fast (a slow walk is 0.5
heights a second) for a direction to mean anything: detector jitter on a person standing still
points anywhere."""


def motion_cost(
    predicted: Float64Array,
    innovation_xy: Float64Array,
    last_seen: Float64Array,
    reach_heights: Float64Array,
    detections: Float64Array,
    *,
    min_iou: float,
    max_size_change: Float64Array,
    velocity: Float64Array,
    unseen_s: Float64Array,
) -> Float64Array:
    """Cost of continuing each track with each detection, ``inf`` where the pair is not allowed.

    IoU alone cannot follow a person who moved more than their own width since the last
    detection (2-4 detections a second on a Pi). So a pair is allowed when the boxes overlap by
    ``min_iou``, or when the detection's centre is where the track's Kalman filter expects it
    (squared Mahalanobis distance under `MAHALANOBIS_GATE_2DOF`) and within ``reach_heights``
    box heights of where the track was last seen (a walking speed times the time since); never
    when the jump there would turn the track back soon after it was last seen (`turns_back`). The cost
    is the distance between centres in heights of the predicted box plus the change of height
    (log ratio): the nearest, same-sized person wins.

    Args:
        predicted: N x 4 predicted states (centre x, centre y, aspect, height).
        innovation_xy: N x 2 x 2 covariances of the predicted centre plus measurement noise.
        last_seen: N x 4 last matched measurements (centre x, centre y, aspect, height).
        reach_heights: N largest distance from ``last_seen``, in box heights.
        detections: M x 4 detections (centre x, centre y, aspect, height).
        min_iou: overlap that allows a pair whatever the motion.
        max_size_change: N largest ``|log(height ratio)|`` of an allowed pair, per track.
        velocity: N x 2 velocities of the centres, pixels per second.
        unseen_s: N seconds since each track was last matched.

    Returns:
        N x M costs.
    """
    if predicted.shape[0] == 0 or detections.shape[0] == 0:
        return np.zeros((predicted.shape[0], detections.shape[0]))
    height = np.maximum(predicted[:, 3, None], 1.0)  # a shrinking prediction can pass 0
    offset = detections[None, :, :2] - predicted[:, None, :2]  # N x M x 2
    centre_heights = np.hypot(offset[..., 0], offset[..., 1]) / height
    size_change = np.abs(np.log(np.maximum(detections[None, :, 3], 1e-6) / height))
    inverse = np.linalg.inv(innovation_xy)  # N x 2 x 2, well conditioned (noise added)
    mahalanobis = np.einsum("nmi,nij,nmj->nm", offset, inverse, offset)
    jump = detections[None, :, :2] - last_seen[:, None, :2]
    jump_heights = np.hypot(jump[..., 0], jump[..., 1]) / last_seen[:, 3, None]
    overlap = iou_matrix(_ltrb(predicted), _ltrb(detections))
    near = (mahalanobis <= MAHALANOBIS_GATE_2DOF) & (jump_heights <= reach_heights[:, None])
    allowed = (near | (overlap >= min_iou)) & (size_change <= max_size_change[:, None])
    allowed &= ~turns_back(velocity / last_seen[:, 3, None], jump / last_seen[:, 3, None, None], unseen_s)
    cost = centre_heights + size_change
    cost[~allowed] = np.inf
    return cost


def turns_back(velocity: Float64Array, jump: Float64Array, unseen_s: Float64Array) -> BoolArray:
    """Which jumps would turn a track back: the tracks re-found within `TURN_BACK_WITHIN_S`,
    moving, whose jump to a detection points against their velocity (`TURN_BACK_COSINE`).

    Two people walking towards each other meet in a crowd; when one of them is missed for a
    detection or two, the nearest box is often the other one, and the track takes it and turns
    back, so neither person crosses the line they were walking to. A real turn takes a walker
    longer than that, and one missed in the meantime is found again by a new track.

    Args:
        velocity: N x 2 track velocities, heights per second.
        jump: N x M x 2 offsets from where each track was last seen to each detection, heights.
        unseen_s: N seconds since each track was last matched; only those seen between
            `MOTION_GATE_AFTER_S` and `TURN_BACK_WITHIN_S` ago are checked (at video rates the
            boxes overlap and IoU decides).

    Returns:
        N x M, true where the pair would turn the track back.
    """
    checked = (unseen_s >= MOTION_GATE_AFTER_S) & (unseen_s <= TURN_BACK_WITHIN_S)
    pace = jump / np.maximum(unseen_s, 1e-6)[:, None, None]  # heights per second
    speed = np.hypot(velocity[:, 0], velocity[:, 1])[:, None]
    pace_speed = np.hypot(pace[..., 0], pace[..., 1])
    along = np.einsum("ni,nmi->nm", velocity, pace)
    moving = (speed >= TURN_BACK_MIN_SPEED_HEIGHTS_PER_S) & (pace_speed >= TURN_BACK_MIN_SPEED_HEIGHTS_PER_S)
    result: BoolArray = checked[:, None] & moving & (along < TURN_BACK_COSINE * speed * pace_speed)
    return result


def _ltrb(xyah: Float64Array) -> Float64Array:
    width = xyah[:, 2] * xyah[:, 3]
    return np.stack(
        [
            xyah[:, 0] - width / 2,
            xyah[:, 1] - xyah[:, 3] / 2,
            xyah[:, 0] + width / 2,
            xyah[:, 1] + xyah[:, 3] / 2,
        ],
        axis=1,
    )
