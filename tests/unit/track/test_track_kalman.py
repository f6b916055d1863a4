"""Batched constant-velocity Kalman filter: geometry, motion, and frame-rate independence."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.track import kalman

BOXES_LTRB = np.array([[100.0, 50.0, 140.0, 150.0], [300.0, 200.0, 360.0, 320.0], [0.0, 0.0, 10.0, 30.0]])


def test_box_conversion_round_trips() -> None:
    xyah = kalman.ltrb_to_xyah(BOXES_LTRB)

    np.testing.assert_allclose(xyah[0], [120.0, 100.0, 0.4, 100.0])
    np.testing.assert_allclose(kalman.xyah_to_ltrb(xyah), BOXES_LTRB)


def test_initiate_starts_at_rest_with_positive_definite_covariance() -> None:
    means, covariances = kalman.initiate(kalman.ltrb_to_xyah(BOXES_LTRB))

    np.testing.assert_allclose(means[:, :4], kalman.ltrb_to_xyah(BOXES_LTRB))
    assert not means[:, 4:].any()
    assert (np.linalg.eigvalsh(covariances) > 0.0).all()


def test_predict_moves_at_constant_velocity_and_grows_uncertainty() -> None:
    means, covariances = kalman.initiate(kalman.ltrb_to_xyah(BOXES_LTRB[:1]))
    means[0, 4:6] = [50.0, -20.0]  # px per second

    predicted, predicted_covariances = kalman.predict(means, covariances, 0.4)

    np.testing.assert_allclose(predicted[0, :2], means[0, :2] + [20.0, -8.0])
    np.testing.assert_allclose(predicted[0, 2:], means[0, 2:])
    assert (np.diagonal(predicted_covariances - covariances, axis1=1, axis2=2) > 0.0).all()


def test_predict_with_no_elapsed_time_changes_nothing() -> None:
    means, covariances = kalman.initiate(kalman.ltrb_to_xyah(BOXES_LTRB))
    means[:, 4] = 30.0

    predicted, predicted_covariances = kalman.predict(means, covariances, 0.0)

    np.testing.assert_array_equal(predicted, means)
    np.testing.assert_array_equal(predicted_covariances, covariances)
    assert predicted is not means


@pytest.mark.parametrize("fps", [5.0, 10.0, 30.0], ids=["5fps", "10fps", "30fps"])
def test_one_second_of_prediction_does_not_depend_on_the_frame_rate(fps: float) -> None:
    means, covariances = kalman.initiate(kalman.ltrb_to_xyah(BOXES_LTRB))
    means[:, 4:6] = [[40.0, 10.0], [-25.0, 0.0], [0.0, 60.0]]
    once, once_covariances = kalman.predict(means, covariances, 1.0)

    stepped, stepped_covariances = means, covariances
    for _ in range(round(fps)):
        stepped, stepped_covariances = kalman.predict(stepped, stepped_covariances, 1.0 / fps)

    np.testing.assert_allclose(stepped, once)
    np.testing.assert_allclose(stepped_covariances, once_covariances, rtol=1e-9, atol=1e-12)


def test_update_pulls_the_state_towards_the_measurement() -> None:
    means, covariances = kalman.initiate(kalman.ltrb_to_xyah(BOXES_LTRB[:1]))
    predicted, predicted_covariances = kalman.predict(means, covariances, 0.1)
    measurement = kalman.ltrb_to_xyah(BOXES_LTRB[:1] + np.array([10.0, 0.0, 10.0, 0.0]))

    corrected, corrected_covariances = kalman.update(predicted, predicted_covariances, measurement)

    assert predicted[0, 0] < corrected[0, 0] < measurement[0, 0]
    assert corrected[0, 4] > 0.0  # it learnt that the box moves right
    assert np.trace(corrected_covariances[0]) < np.trace(predicted_covariances[0])


def test_repeated_measurements_learn_the_velocity() -> None:
    velocity_px_s = np.array([80.0, -30.0])
    box = BOXES_LTRB[:1].copy()
    means, covariances = kalman.initiate(kalman.ltrb_to_xyah(box))
    for _ in range(30):
        box = box + np.tile(velocity_px_s * 0.2, 2)
        means, covariances = kalman.predict(means, covariances, 0.2)
        means, covariances = kalman.update(means, covariances, kalman.ltrb_to_xyah(box))

    np.testing.assert_allclose(means[0, 4:6], velocity_px_s, rtol=0.02)


@settings(max_examples=30, deadline=None)
@given(
    shift=st.lists(st.floats(-20.0, 20.0), min_size=4, max_size=4),
    elapsed_s=st.floats(0.01, 1.0),
)
def test_batched_update_equals_one_box_at_a_time(shift: list[float], elapsed_s: float) -> None:
    means, covariances = kalman.initiate(kalman.ltrb_to_xyah(BOXES_LTRB))
    means, covariances = kalman.predict(means, covariances, elapsed_s)
    measurements = kalman.ltrb_to_xyah(BOXES_LTRB + np.array(shift) * [1.0, 1.0, 1.5, 1.5])

    batch_means, batch_covariances = kalman.update(means, covariances, measurements)

    for row in range(len(BOXES_LTRB)):
        one_mean, one_covariance = kalman.update(
            means[row : row + 1], covariances[row : row + 1], measurements[row : row + 1]
        )
        np.testing.assert_allclose(batch_means[row], one_mean[0])
        np.testing.assert_allclose(batch_covariances[row], one_covariance[0])
