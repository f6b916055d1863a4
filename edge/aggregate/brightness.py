"""Frame brightness for the low-light flag, cheap enough to run on every frame on a Pi.

Mean luma is linear in the pixels, so the mean of a regular subsample (every 8th row and column,
1/64 of the pixels) estimates the whole frame's mean closely for real scenes; the weights are
ITU-R BT.601's, as in OpenCV's BGR -> gray conversion. numpy only, so this package needs no OpenCV.
"""

from __future__ import annotations

import numpy as np

from edge.records import ImageArray

SUBSAMPLE_STEP = 8
"""Take every 8th row and column: 1/64 of the pixels, still ~4,800 samples at 640 x 480."""
_LUMA_WEIGHTS_BGR = np.array([0.114, 0.587, 0.299], dtype=np.float64)
"""BT.601 luma weights in OpenCV's B, G, R channel order."""


def frame_brightness(image: ImageArray) -> float:
    """Mean luma (0-255) of a BGR uint8 frame, estimated from a regular subsample.

    Args:
        image: H x W x 3 uint8 array in BGR order (`Frame.image`).

    Returns:
        The mean of 0.114 B + 0.587 G + 0.299 R over the sampled pixels.

    Raises:
        ValueError: if the image is not a non-empty H x W x 3 uint8 array.
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8 or image.size == 0:
        raise ValueError(f"image must be a non-empty H x W x 3 uint8 array, got {image.dtype} {image.shape}")
    # A contiguous copy of the subsample (1/64 of the frame) makes the matrix product fast.
    sample = np.ascontiguousarray(image[::SUBSAMPLE_STEP, ::SUBSAMPLE_STEP]).reshape(-1, 3)
    return float((sample @ _LUMA_WEIGHTS_BGR).mean())
