"""Constant-velocity Kalman filter for many boxes at once, stepped by real elapsed time.

The state of one box is ``(x, y, a, h, vx, vy, va, vh)``: centre, aspect ratio (width / height),
height, and their velocities per SECOND, as in ByteTrack but with time in seconds instead of
frames. Frame rates vary between 5 and 30 fps (and drop when the Pi is busy), so the transition
uses the elapsed time and the process noise is that of a continuous-time model (positions and
velocities each take a random walk whose variance grows linearly with time), integrated exactly
over the interval: one prediction over 0.2 s equals six over 1/30 s, so the filter behaves the same
at any frame rate. ByteTrack's per-frame noise weights are read as the noise of one 30 fps frame.

Every function takes and returns stacked arrays (``means`` N x 8, ``covariances`` N x 8 x 8) and
never mutates its inputs; there is no per-track Python loop.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Float64Array = npt.NDArray[np.float64]

STATE_SIZE = 8
"""Centre x, centre y, aspect, height and their velocities."""

REFERENCE_FRAME_INTERVAL_S = 1.0 / 30.0
"""ByteTrack's noise weights were tuned per frame at 30 fps; we scale them from this interval."""

POSITION_NOISE_WEIGHT = 1.0 / 20.0
"""Position noise standard deviation per reference frame, as a fraction of box height (ByteTrack)."""

VELOCITY_NOISE_WEIGHT = 1.0 / 160.0
"""Velocity noise standard deviation per reference frame, as a fraction of box height (ByteTrack)."""

ASPECT_POSITION_NOISE = 1e-2
"""Aspect-ratio process noise standard deviation per reference frame (unitless, ByteTrack)."""

ASPECT_VELOCITY_NOISE = 1e-5
"""Aspect-ratio velocity process noise standard deviation per reference frame (ByteTrack)."""

ASPECT_MEASUREMENT_NOISE = 1e-1
"""Aspect-ratio measurement noise standard deviation (unitless, ByteTrack)."""

_MINIMUM_HEIGHT_PX = 1e-6
"""Floor of a box height in pixels, so a degenerate box has a finite aspect ratio."""

# (left, top, right, bottom) @ this = (centre x, centre y, width, height), and back.
_LTRB_TO_CENTRE_SIZE = np.array(
    [[0.5, 0.0, -1.0, 0.0], [0.0, 0.5, 0.0, -1.0], [0.5, 0.0, 1.0, 0.0], [0.0, 0.5, 0.0, 1.0]]
)
_CENTRE_SIZE_TO_LTRB = np.array(
    [[1.0, 0.0, 1.0, 0.0], [0.0, 1.0, 0.0, 1.0], [-0.5, 0.0, 0.5, 0.0], [0.0, -0.5, 0.0, 0.5]]
)
_DIAGONAL = np.arange(STATE_SIZE)
_MEASURED = np.arange(4)
# Where the process noise goes: position-position, position-velocity, velocity-position, velocity-velocity.
_NOISE_ROWS = np.concatenate([_MEASURED, _MEASURED, _MEASURED + 4, _MEASURED + 4])
_NOISE_COLUMNS = np.concatenate([_MEASURED, _MEASURED + 4, _MEASURED, _MEASURED + 4])

# Noise standard deviations are ``box height * weights + constant`` per component, as in ByteTrack.
# Velocities are per second, hence ``_PER_SECOND``.
_PER_SECOND = 1.0 / REFERENCE_FRAME_INTERVAL_S
_P, _V = POSITION_NOISE_WEIGHT, VELOCITY_NOISE_WEIGHT * _PER_SECOND
_INITIAL_HEIGHT_WEIGHTS = np.array([2 * _P, 2 * _P, 0.0, 2 * _P, 10 * _V, 10 * _V, 0.0, 10 * _V])
_INITIAL_CONSTANT_STD = np.array(
    [0.0, 0.0, ASPECT_POSITION_NOISE, 0.0, 0.0, 0.0, ASPECT_VELOCITY_NOISE * _PER_SECOND, 0.0]
)
# Process noise over one reference interval, for (x, y, a, h) and for their velocities.
_POSITION_HEIGHT_WEIGHTS = np.array([_P, _P, 0.0, _P])
_POSITION_CONSTANT_STD = np.array([0.0, 0.0, ASPECT_POSITION_NOISE, 0.0])
_VELOCITY_HEIGHT_WEIGHTS = np.array([_V, _V, 0.0, _V])
_VELOCITY_CONSTANT_STD = np.array([0.0, 0.0, ASPECT_VELOCITY_NOISE * _PER_SECOND, 0.0])
_MEASUREMENT_HEIGHT_WEIGHTS = np.array([_P, _P, 0.0, _P])
_MEASUREMENT_CONSTANT_STD = np.array([0.0, 0.0, ASPECT_MEASUREMENT_NOISE, 0.0])


def ltrb_to_xyah(boxes: Float64Array) -> Float64Array:
    """Convert N x 4 (left, top, right, bottom) boxes to (centre x, centre y, width / height, height)."""
    xyah: Float64Array = boxes @ _LTRB_TO_CENTRE_SIZE
    xyah[:, 3] = np.maximum(xyah[:, 3], _MINIMUM_HEIGHT_PX)
    xyah[:, 2] /= xyah[:, 3]
    return xyah


def xyah_to_ltrb(xyah: Float64Array) -> Float64Array:
    """Convert N x 4 (centre x, centre y, aspect, height) to (left, top, right, bottom)."""
    centre_size = xyah.copy()
    centre_size[:, 2] *= centre_size[:, 3]
    ltrb: Float64Array = centre_size @ _CENTRE_SIZE_TO_LTRB
    return ltrb


def initiate(measurements: Float64Array) -> tuple[Float64Array, Float64Array]:
    """Start one state per measurement, at rest, with ByteTrack's initial uncertainty.

    Args:
        measurements: N x 4 boxes as (centre x, centre y, aspect, height).

    Returns:
        ``(means, covariances)``: N x 8 and N x 8 x 8.
    """
    count = measurements.shape[0]
    means = np.zeros((count, STATE_SIZE))
    means[:, :4] = measurements
    std = measurements[:, 3, None] * _INITIAL_HEIGHT_WEIGHTS + _INITIAL_CONSTANT_STD
    covariances = np.zeros((count, STATE_SIZE, STATE_SIZE))
    covariances[:, _DIAGONAL, _DIAGONAL] = std**2
    return means, covariances


def predict(
    means: Float64Array, covariances: Float64Array, elapsed_s: float
) -> tuple[Float64Array, Float64Array]:
    """Move every state ``elapsed_s`` seconds forward at constant velocity.

    Args:
        means: N x 8 states.
        covariances: N x 8 x 8 covariances.
        elapsed_s: time since the states' timestamp, in seconds; 0 returns copies.

    Returns:
        ``(means, covariances)`` at the new time.
    """
    if elapsed_s <= 0.0 or means.shape[0] == 0:
        return means.copy(), covariances.copy()
    # F = [[I, t I], [0, I]]: F x adds t * velocity to position; F P F^T adds t * the velocity
    # rows to the position rows, then t * the velocity columns to the position columns.
    new_means = means.copy()
    new_means[:, :4] += elapsed_s * means[:, 4:]
    new_covariances = covariances.copy()
    new_covariances[:, :4, :] += elapsed_s * new_covariances[:, 4:, :]
    new_covariances[:, :, :4] += elapsed_s * new_covariances[:, :, 4:]
    # Diffusion rates (variance per second) of the position and velocity random walks; the
    # velocity walk also spreads the position (integrated Brownian motion), hence the t^3 term.
    height = means[:, 3, None]
    position_rate = (height * _POSITION_HEIGHT_WEIGHTS + _POSITION_CONSTANT_STD) ** 2 * _PER_SECOND
    velocity_rate = (height * _VELOCITY_HEIGHT_WEIGHTS + _VELOCITY_CONSTANT_STD) ** 2 * _PER_SECOND
    cross = velocity_rate * (elapsed_s**2 / 2.0)
    noise = np.concatenate(
        [
            position_rate * elapsed_s + velocity_rate * (elapsed_s**3 / 3.0),
            cross,
            cross,
            velocity_rate * elapsed_s,
        ],
        axis=1,
    )
    new_covariances[:, _NOISE_ROWS, _NOISE_COLUMNS] += noise
    return new_means, new_covariances


def update(
    means: Float64Array, covariances: Float64Array, measurements: Float64Array
) -> tuple[Float64Array, Float64Array]:
    """Correct each state with its measurement (row i with row i).

    Args:
        means: N x 8 predicted states.
        covariances: N x 8 x 8 predicted covariances.
        measurements: N x 4 boxes as (centre x, centre y, aspect, height).

    Returns:
        ``(means, covariances)`` after the correction.
    """
    if means.shape[0] == 0:
        return means.copy(), covariances.copy()
    noise_std = means[:, 3, None] * _MEASUREMENT_HEIGHT_WEIGHTS + _MEASUREMENT_CONSTANT_STD
    innovation_covariances = covariances[:, :4, :4].copy()
    innovation_covariances[:, _MEASURED, _MEASURED] += noise_std**2
    # H P is the measured rows of P. The gain K = P H^T S^-1 is used transposed, K^T = S^-1 H P,
    # solved rather than inverted; and K S K^T = (H P)^T K^T saves a product.
    measured_rows = covariances[:, :4, :]
    gains_transposed = np.linalg.solve(innovation_covariances, measured_rows)
    innovation = measurements - means[:, :4]
    new_means = means + (innovation[:, None, :] @ gains_transposed)[:, 0, :]
    new_covariances = covariances - measured_rows.transpose(0, 2, 1) @ gains_transposed
    return new_means, new_covariances


def innovation_xy(means: Float64Array, covariances: Float64Array) -> Float64Array:
    """N x 2 x 2 covariances of a measured centre around the predicted one (state + measurement noise)."""
    noise_std = means[:, 3] * _MEASUREMENT_HEIGHT_WEIGHTS[0]
    innovation = covariances[:, :2, :2].copy()
    innovation[:, 0, 0] += noise_std**2
    innovation[:, 1, 1] += noise_std**2
    return innovation
