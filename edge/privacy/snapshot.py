"""Anonymised snapshots: every detected person pixelated beyond recognition, encoded in memory.

A snapshot lets a technician draw lines on the real scene; it must not show who was there. Each
person box is enlarged by a margin (detector boxes are tight and a head or an arm often sticks
out) and replaced by a few large blocks of its mean colours, so at most a coloured blob remains:
no face, no clothing pattern, no body shape the detector itself would still call a person (the
integration test runs the real model on the result). Pixels are never written to disk here;
`encode_jpeg` returns bytes for the caller to serve and forget.

Outside the rectangle the detector searched (a region-of-interest crop) nobody can have been
found, so nobody there can be pixelated by their box: that whole area is reduced to a few coarse
blocks instead (`UNSEARCHED_BLOCKS` along the frame's longer side), enough to see where the crop
lies and no person.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from edge.records import FloatArray, ImageArray

DEFAULT_MARGIN = 0.25
"""Box enlargement on each side, as a fraction of the box width/height: covers heads and arms."""
DEFAULT_BLOCKS_ALONG_HEIGHT = 4
"""Pixel blocks along the (enlarged) box height: 4 leaves a blob, no head, limbs or face."""
DEFAULT_MIN_BLOCK_PX = 8
"""Smallest block edge in pixels, so far-away small people are coarsened as much as near ones."""
UNSEARCHED_BLOCKS = 24
"""Blocks along the frame's longer side outside the searched rectangle: 80 px at 1920 x 1080."""
DEFAULT_JPEG_QUALITY = 80
"""JPEG quality 0-100 of the served snapshot: sharp enough to see kerbs and doors, ~60 kB at 768x576."""


def anonymise(
    image: ImageArray,
    boxes: FloatArray,
    *,
    searched: tuple[int, int, int, int] | None = None,
    margin: float = DEFAULT_MARGIN,
    blocks_along_height: int = DEFAULT_BLOCKS_ALONG_HEIGHT,
    min_block_px: int = DEFAULT_MIN_BLOCK_PX,
) -> ImageArray:
    """Return a copy of ``image`` with every box pixelated into a few coarse blocks.

    Pass every box the detector returned, including low-score ones: a missed person stays
    visible, a pixelated bush costs nothing.

    Args:
        image: H x W x 3 uint8 image (BGR); not modified.
        boxes: N x 4 (left, top, right, bottom) in image pixels; boxes partly outside are clipped.
        searched: (left, top, right, bottom) pixels the detector looked at; everything outside is
            coarsened to `UNSEARCHED_BLOCKS` blocks. None: the detector saw the whole image.
        margin: enlargement of each box on every side, as a fraction of its width and height.
        blocks_along_height: blocks along the height of an enlarged box (fewer is coarser).
        min_block_px: smallest block edge in pixels.

    Raises:
        ValueError: for a malformed image or boxes array, or out-of-range options (names the argument).
    """
    _check_arguments(image, boxes, margin, blocks_along_height, min_block_px)
    result = image.copy()
    height, width = image.shape[:2]
    if searched is not None:
        _coarsen_outside(result, searched)
    for left, top, right, bottom in np.asarray(boxes, dtype=np.float64):
        grow_x, grow_y = (right - left) * margin, (bottom - top) * margin
        x0, y0 = max(0, math.floor(left - grow_x)), max(0, math.floor(top - grow_y))
        x1, y1 = min(width, math.ceil(right + grow_x)), min(height, math.ceil(bottom + grow_y))
        if x1 <= x0 or y1 <= y0:
            continue
        block_px = max(min_block_px, math.ceil((bottom - top) * (1 + 2 * margin) / blocks_along_height))
        result[y0:y1, x0:x1] = _pixelate(result[y0:y1, x0:x1], block_px)
    return result


def _coarsen_outside(image: ImageArray, searched: tuple[int, int, int, int]) -> None:
    """Replace, in place, every pixel outside `searched` by coarse blocks of the whole image."""
    height, width = image.shape[:2]
    left, top = max(0, searched[0]), max(0, searched[1])
    right, bottom = min(width, searched[2]), min(height, searched[3])
    coarse = _pixelate(image, math.ceil(max(height, width) / UNSEARCHED_BLOCKS))
    if right <= left or bottom <= top:
        image[:] = coarse
        return
    inside = image[top:bottom, left:right].copy()
    image[:] = coarse
    image[top:bottom, left:right] = inside


def _pixelate(region: ImageArray, block_px: int) -> ImageArray:
    """Mean colour of each block_px x block_px cell, blown back up to the region's size."""
    height, width = region.shape[:2]
    small = cv2.resize(
        region,
        (max(1, math.ceil(width / block_px)), max(1, math.ceil(height / block_px))),
        interpolation=cv2.INTER_AREA,
    )
    blocks = cv2.resize(small, (width, height), interpolation=cv2.INTER_NEAREST)
    return np.asarray(blocks, dtype=np.uint8)


def _check_arguments(
    image: ImageArray, boxes: FloatArray, margin: float, blocks_along_height: int, min_block_px: int
) -> None:
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"image must be an H x W x 3 uint8 array, got {image.shape} {image.dtype}")
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"boxes must be N x 4, got shape {boxes.shape}")
    if not np.all(np.isfinite(boxes)):
        raise ValueError("boxes must be finite")
    if not 0.0 <= margin <= 2.0:
        raise ValueError(f"margin must be in [0, 2], got {margin}")
    if blocks_along_height < 1:
        raise ValueError(f"blocks_along_height must be >= 1, got {blocks_along_height}")
    if min_block_px < 1:
        raise ValueError(f"min_block_px must be >= 1, got {min_block_px}")


def encode_jpeg(image: ImageArray, *, quality: int = DEFAULT_JPEG_QUALITY) -> bytes:
    """Encode an image as JPEG bytes in memory (never a file).

    Raises:
        ValueError: for a malformed image or a quality outside 1-100.
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8 or image.size == 0:
        raise ValueError(f"image must be a non-empty H x W x 3 uint8 array, got {image.shape} {image.dtype}")
    if not 1 <= quality <= 100:
        raise ValueError(f"quality must be in 1-100, got {quality}")
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError(f"image of shape {image.shape} could not be encoded as JPEG")
    return bytes(encoded.tobytes())
