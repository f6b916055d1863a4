"""The detector input for a camera: its aspect ratio at a pixel budget (README D-016).

A square input letterboxes a 16:9 frame with 44 % padding: CPU spent on grey. For the same number
of input pixels, an input in the frame's own shape shows people larger (ADL-Rundle-6, 960x540:
416x416 and 512x288 cost the same, recall 0.66 -> 0.73). `input_size_for` picks, among inputs whose
sides are multiples of the model's coarsest stride and whose area stays within the budget, the
one that shows the frame largest, and of those the smallest; it never enlarges a frame beyond its
own size rounded up to the stride. Pure arithmetic: no model, no runtime.
"""

from __future__ import annotations

import math
from fractions import Fraction

from edge.detect.yolox import STRIDES

__all__ = ["DEFAULT_PIXEL_BUDGET", "SIZE_MULTIPLE", "input_size_for"]

SIZE_MULTIPLE = max(STRIDES)
"""Input sides are multiples of the coarsest YOLOX stride (32 px), so every feature map has whole cells."""
DEFAULT_PIXEL_BUDGET = 416 * 416
"""Input pixels by default: the CPU of YOLOX-Nano's own 416x416 input (inference cost ~ area)."""


def input_size_for(
    frame_width: int,
    frame_height: int,
    pixel_budget: int = DEFAULT_PIXEL_BUDGET,
    *,
    stride: int = SIZE_MULTIPLE,
) -> tuple[int, int]:
    """The (width, height) input, multiples of `stride`, that shows the frame largest in the budget.

    The frame is letterboxed into the input at scale ``min(width / frame_width, height /
    frame_height)``. The input maximises that scale (capped at 1: no enlarging) subject to
    ``width * height <= pixel_budget``, and among equal scales has the fewest pixels, so neither
    side carries a whole stride of padding and the aspect ratio is the frame's to within one stride.

    Examples: 960x540 (16:9) -> (512, 288); 768x576 or 640x480 (4:3) -> (480, 352); 320x240
    -> (320, 256), the frame at scale 1.

    Args:
        frame_width: width of the frame (or crop) the detector looks at, pixels.
        frame_height: its height, pixels.
        pixel_budget: most input pixels (width * height); at least ``stride ** 2``.
        stride: the sides' multiple (the model's coarsest feature-map stride).

    Raises:
        ValueError: a size or the stride is not positive, or the budget holds no ``stride`` square.
    """
    if frame_width <= 0 or frame_height <= 0:
        raise ValueError(f"frame size must be positive, got {frame_width}x{frame_height}")
    if stride <= 0:
        raise ValueError(f"stride must be positive, got {stride}")
    if pixel_budget < stride * stride:
        raise ValueError(f"pixel_budget must hold a {stride}x{stride} input, got {pixel_budget}")
    widest, tallest = _round_up(frame_width, stride), _round_up(frame_height, stride)
    best = (stride, stride)
    best_key = (Fraction(0), 0)
    for height in range(stride, min(tallest, pixel_budget // stride) + 1, stride):
        # The narrowest width that reaches this height's scale, or the widest the budget allows.
        height_scale = min(Fraction(height, frame_height), Fraction(1))
        width = min(_round_up(height_scale * frame_width, stride), widest)
        width = max(stride, min(width, pixel_budget // height // stride * stride))
        scale = min(Fraction(width, frame_width), height_scale)
        key = (scale, -width * height)
        if key > best_key:
            best, best_key = (width, height), key
    return best


def _round_up(length: Fraction | int, multiple: int) -> int:
    return math.ceil(Fraction(length) / multiple) * multiple
