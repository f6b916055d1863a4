"""IoU matrix and thresholded one-to-one assignment."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.optimize import linear_sum_assignment

from edge.track.matching import assign, iou_matrix, turns_back

BOX = [0.0, 0.0, 10.0, 10.0]


@pytest.mark.parametrize(
    ("other", "expected"),
    [
        (BOX, 1.0),
        ([5.0, 0.0, 15.0, 10.0], 50.0 / 150.0),
        ([2.0, 2.0, 7.0, 7.0], 25.0 / 100.0),
        ([10.0, 0.0, 20.0, 10.0], 0.0),
        ([30.0, 30.0, 40.0, 50.0], 0.0),
        ([5.0, 5.0, 5.0, 5.0], 0.0),
    ],
    ids=["identical", "half-shifted", "contained", "touching", "disjoint", "degenerate"],
)
def test_iou_of_known_pairs(other: list[float], expected: float) -> None:
    iou = iou_matrix(np.array([BOX]), np.array([other]))

    assert iou.shape == (1, 1)
    assert iou[0, 0] == pytest.approx(expected)
    assert iou_matrix(np.array([other]), np.array([BOX]))[0, 0] == pytest.approx(expected)


def test_iou_matrix_shape_follows_the_inputs() -> None:
    first = np.array([BOX, [5.0, 0.0, 15.0, 10.0], [100.0, 100.0, 110.0, 130.0]])

    assert iou_matrix(first, first[:2]).shape == (3, 2)
    assert iou_matrix(first, np.empty((0, 4))).shape == (3, 0)
    assert iou_matrix(np.empty((0, 4)), first).shape == (0, 3)
    np.testing.assert_allclose(np.diagonal(iou_matrix(first, first)), 1.0)


@pytest.mark.parametrize(
    ("cost", "max_cost", "expected_rows", "expected_columns"),
    [
        ([[0.1, 0.9], [0.9, 0.2]], 0.5, [0, 1], [0, 1]),
        ([[0.9, 0.1], [0.2, 0.9]], 0.5, [0, 1], [1, 0]),
        ([[0.6, 0.7]], 0.5, [], []),
        ([[0.1, 0.3], [0.2, 0.9]], 0.5, [0, 1], [1, 0]),
        ([[0.1, 0.4], [0.4, 0.9]], 0.5, [0], [0]),
        ([[0.5]], 0.5, [0], [0]),
        (np.zeros((0, 3)), 0.5, [], []),
    ],
    ids=[
        "diagonal",
        "swapped",
        "nothing-allowed",
        "contested",
        "one-good-beats-two-fair",
        "at-limit",
        "empty",
    ],
)
def test_assign_table(
    cost: list[list[float]], max_cost: float, expected_rows: list[int], expected_columns: list[int]
) -> None:
    rows, columns = assign(np.array(cost, dtype=np.float64), max_cost)

    assert rows.tolist() == expected_rows
    assert columns.tolist() == expected_columns


def _reference_objective(cost: np.ndarray, max_cost: float) -> float:
    """Solve the whole matrix at once, as ByteTrack does; total saving over leaving pairs unmatched."""
    padded = np.where(cost <= max_cost, cost, max_cost + 1e-4)
    rows, columns = linear_sum_assignment(padded)
    keep = padded[rows, columns] <= max_cost
    return float((max_cost - cost[rows[keep], columns[keep]]).sum())


@settings(max_examples=200, deadline=None)
@given(
    cost=hnp.arrays(
        np.float64,
        st.tuples(st.integers(0, 8), st.integers(0, 8)),
        elements=st.sampled_from([0.05, 0.2, 0.4, 0.6, 0.9, 1.0]),
    ),
    max_cost=st.sampled_from([0.3, 0.5, 0.8]),
)
def test_assign_is_as_good_as_solving_the_whole_matrix(cost: np.ndarray, max_cost: float) -> None:
    rows, columns = assign(cost, max_cost)

    assert len(set(rows.tolist())) == len(rows)
    assert len(set(columns.tolist())) == len(columns)
    assert (cost[rows, columns] <= max_cost).all()
    assert rows.tolist() == sorted(rows.tolist())
    saving = float((max_cost - cost[rows, columns]).sum())
    assert saving == pytest.approx(_reference_objective(cost, max_cost))


@pytest.mark.parametrize(
    ("velocity", "jump", "unseen_s", "expected"),
    [
        # Walking right at 1.5 heights a second; the nearest box is half a height back.
        ((1.5, 0.0), (-0.5, 0.0), 1 / 3, True),
        ((1.5, 0.0), (-0.5, 0.1), 1 / 3, True),
        # The same jump forwards is the person walking on.
        ((1.5, 0.0), (0.5, 0.0), 1 / 3, False),
        # Sideways (90 degrees) is a change of direction, not a turn back.
        ((1.5, 0.0), (0.0, 0.5), 1 / 3, False),
        # Consecutive frames at video rate: boxes overlap and IoU decides.
        ((1.5, 0.0), (-0.05, 0.0), 0.04, False),
        # Unseen half a second (2 detections a second, or missed once at 3/s): time to turn.
        ((1.5, 0.0), (-0.5, 0.0), 0.5, False),
        # Standing still: detector jitter points anywhere.
        ((0.1, 0.0), (-0.5, 0.0), 1 / 3, False),
        ((1.5, 0.0), (-0.05, 0.0), 1 / 3, False),
    ],
    ids=[
        "back-at-3fps",
        "back-and-a-little-aside",
        "forwards",
        "sideways",
        "video-rate",
        "unseen-half-a-second",
        "track-standing",
        "jump-too-small",
    ],
)
def test_turns_back_table(
    velocity: tuple[float, float], jump: tuple[float, float], unseen_s: float, expected: bool
) -> None:
    result = turns_back(np.array([velocity]), np.array([[jump]]), np.array([unseen_s]))

    assert result.shape == (1, 1)
    assert bool(result[0, 0]) is expected


def test_turns_back_checks_every_pair_of_its_own_track() -> None:
    velocity = np.array([[1.5, 0.0], [-1.5, 0.0]])
    jump = np.array([[[-0.5, 0.0], [0.5, 0.0]], [[-0.5, 0.0], [0.5, 0.0]]])

    result = turns_back(velocity, jump, np.array([1 / 3, 1 / 3]))

    assert result.tolist() == [[True, False], [False, True]]
