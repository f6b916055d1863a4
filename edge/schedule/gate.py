"""`MotionGate`: a cheap "did anything move?" test on a small grey copy of the frame.

The frame is shrunk to `width_px` wide and blurred (the blur averages sensor and codec noise
away), and compared with a background that follows the scene with a time
constant in media seconds, so 7 fps and 25 fps sources behave alike. A pixel changed when it
differs from the background by more than `pixel_threshold` grey levels, after the frame's mean
brightness has been scaled to the background's (auto-exposure and clouds change the gain of the
whole picture, not its content). Motion is the fraction of changed pixels in the region of
interest; a change over more than `global_change_fraction` of it is taken as a lighting change:
the background is re-seeded and no motion is reported (the scheduler's idle check still looks
within `idle_check_s`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np
import numpy.typing as npt

from edge.records import Frame, ImageArray, Point

if TYPE_CHECKING:
    from collections.abc import Iterable

Float32Image = npt.NDArray[np.float32]

DEFAULT_WIDTH_PX = 160
"""Width of the small grey image, px: a person 1/15 of the frame high is still ~8 px tall in it."""
DEFAULT_PIXEL_THRESHOLD = 14.0
"""Grey levels (0-255) a pixel must differ from the background by: above blurred sensor/codec noise."""
DEFAULT_MIN_CHANGED_FRACTION = 0.002
"""Fraction of the region that must change: a person 1/10 of the frame high covers ~0.4 % of it."""
DEFAULT_BACKGROUND_TIME_S = 0.5
"""Time constant of the background, media seconds: a walker moves ~0.4 of their height in it, and
the ghost a long-standing person leaves behind fades within ~1.5 s."""
DEFAULT_GLOBAL_CHANGE_FRACTION = 0.6
"""A change over more than this fraction of the region is lighting, not people."""

Rectangle = tuple[float, float, float, float]
"""(left, top, right, bottom), normalised to [0, 1] of the frame width and height."""


@dataclass(frozen=True, slots=True)
class Motion:
    """What the gate saw in one frame.

    Attributes:
        changed_fraction: fraction of the region's pixels that differ from the background.
        moving: True when that fraction reaches the gate's minimum and is not a lighting change.
        lighting_change: True when most of the region changed at once (the background was reset).
    """

    changed_fraction: float
    moving: bool
    lighting_change: bool


class MotionGate:
    """Tells whether anything moved, at a cost of well under a millisecond per frame.

    Example:
        >>> gate = MotionGate(region=(0.0, 0.3, 1.0, 1.0))
        >>> gate.update(frame).moving  # doctest: +SKIP

    Args:
        width_px: width of the small grey image the comparison runs on.
        pixel_threshold: grey levels a pixel must differ from the background to count as changed.
        min_changed_fraction: fraction of the region that must change to report motion.
        background_time_s: time constant with which the background follows the scene.
        global_change_fraction: a change over more than this fraction is a lighting change.
        region: only look inside this normalised rectangle; the whole frame when None.
    """

    def __init__(
        self,
        *,
        width_px: int = DEFAULT_WIDTH_PX,
        pixel_threshold: float = DEFAULT_PIXEL_THRESHOLD,
        min_changed_fraction: float = DEFAULT_MIN_CHANGED_FRACTION,
        background_time_s: float = DEFAULT_BACKGROUND_TIME_S,
        global_change_fraction: float = DEFAULT_GLOBAL_CHANGE_FRACTION,
        region: Rectangle | None = None,
    ) -> None:
        if isinstance(width_px, bool) or not isinstance(width_px, int) or width_px < 16:
            raise ValueError(f"width_px must be an integer >= 16, got {width_px!r}")
        if not 0.0 < pixel_threshold < 255.0:
            raise ValueError(f"pixel_threshold must be between 0 and 255, got {pixel_threshold!r}")
        if not 0.0 < min_changed_fraction < global_change_fraction <= 1.0:
            raise ValueError(
                "need 0 < min_changed_fraction < global_change_fraction <= 1, got "
                f"{min_changed_fraction!r} and {global_change_fraction!r}"
            )
        if not (math.isfinite(background_time_s) and background_time_s > 0.0):
            raise ValueError(f"background_time_s must be a finite number > 0, got {background_time_s!r}")
        if region is not None:
            left, top, right, bottom = region
            if not (0.0 <= left < right <= 1.0 and 0.0 <= top < bottom <= 1.0):
                raise ValueError(f"region must be (left, top, right, bottom) inside [0, 1], got {region!r}")
        self._width_px = width_px
        self._pixel_threshold = pixel_threshold
        self._min_changed_fraction = min_changed_fraction
        self._background_time_s = background_time_s
        self._global_change_fraction = global_change_fraction
        self._region = region
        self._background: Float32Image | None = None
        self._last_s = 0.0

    def update(self, frame: Frame) -> Motion:
        """Compare one frame with the background, then let the background follow it.

        Frames must come in time order; the first frame (or one of another size) only seeds
        the background and reports no motion.
        """
        small = self._small(frame.image)
        background = self._background
        if background is None or background.shape != small.shape:
            self._reseed(small, frame.timestamp_s)
            return Motion(0.0, moving=False, lighting_change=False)
        current_mean = float(small.mean())
        if current_mean > 1.0:  # scale the gain to the background's: exposure is not motion
            small *= float(background.mean()) / current_mean
        difference = cv2.absdiff(small, background)
        changed = float(np.count_nonzero(difference > self._pixel_threshold)) / difference.size
        if changed > self._global_change_fraction:
            self._reseed(small, frame.timestamp_s)
            return Motion(changed, moving=False, lighting_change=True)
        elapsed_s = max(frame.timestamp_s - self._last_s, 0.0)
        self._last_s = frame.timestamp_s
        weight = 1.0 - math.exp(-elapsed_s / self._background_time_s)
        cv2.accumulateWeighted(small, background, weight)
        return Motion(changed, moving=changed >= self._min_changed_fraction, lighting_change=False)

    def reset(self) -> None:
        """Forget the background, e.g. after the source reconnected."""
        self._background = None

    def _reseed(self, small: Float32Image, timestamp_s: float) -> None:
        self._background = small
        self._last_s = timestamp_s

    def _small(self, image: ImageArray) -> Float32Image:
        """The region of the image, grey, `width_px` wide, blurred, as float32."""
        if self._region is not None:
            height, width = image.shape[:2]
            left, top, right, bottom = self._region
            image = image[
                int(top * height) : max(int(bottom * height), int(top * height) + 1),
                int(left * width) : max(int(right * width), int(left * width) + 1),
            ]
        height, width = image.shape[:2]
        small_width = min(self._width_px, width)
        small_height = max(1, round(height * small_width / width))
        # Bilinear, then the blur averages: ~0.1 ms where INTER_AREA at a non-integer factor takes ~2 ms.
        shrunk = cv2.resize(image, (small_width, small_height), interpolation=cv2.INTER_LINEAR)
        grey = cv2.cvtColor(shrunk, cv2.COLOR_BGR2GRAY) if shrunk.ndim == 3 else shrunk
        blurred = cv2.GaussianBlur(grey, (5, 5), 0)
        return np.asarray(blurred, dtype=np.float32)


def region_around(points: Iterable[Point], margin: float = 0.25) -> Rectangle:
    """The normalised rectangle around calibration points (line ends, zone corners), widened.

    People are seen before they reach a line or zone, and their boxes reach above their feet:
    ``margin`` (a fraction of the frame, default about one person height plus an approach) is
    added on every side, clipped to the frame.

    Raises:
        ValueError: if there are no points or the margin is negative.
    """
    xs, ys = [], []
    for x, y in points:
        xs.append(x)
        ys.append(y)
    if not xs:
        raise ValueError("points must not be empty")
    if not (math.isfinite(margin) and margin >= 0.0):
        raise ValueError(f"margin must be a finite number >= 0, got {margin!r}")
    left, right = max(min(xs) - margin, 0.0), min(max(xs) + margin, 1.0)
    top, bottom = max(min(ys) - margin, 0.0), min(max(ys) + margin, 1.0)
    if right <= left or bottom <= top:  # a point on the frame's edge with no margin
        return (0.0, 0.0, 1.0, 1.0)
    return (left, top, right, bottom)
