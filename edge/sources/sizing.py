"""Stream sizes for the detector: ask the camera for no more pixels than the detector uses, and
tell the detector how large a source's frames are (`first_frame_size`).

The detector letterboxes every frame into its input (keeping the aspect ratio, scaling by
`min(input_width / width, input_height / height)`). A frame larger than needed is decoded,
copied and shrunk for nothing; a smaller one is enlarged and loses detail. The best camera
stream is therefore the smallest one, in the camera's aspect ratio, whose letterbox scale is
exactly 1 or just below: it fills the detector input along the limiting side.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from edge.sources.base import FrameSource

__all__ = ["first_frame_size", "lores_size_for"]


def first_frame_size(source: FrameSource) -> tuple[int, int] | None:
    """(width, height) of a source's first frame; None if it has none.

    Reads one frame in a pass of its own, which then ends: a file or folder is read again from
    its start by the next pass, a live source connects again (and a frame is lost).
    """
    frames = iter(source)
    try:
        frame = next(frames, None)
    finally:
        if isinstance(frames, Generator):
            frames.close()  # releases the device or file of this pass now
    return None if frame is None else (frame.width, frame.height)


def lores_size_for(
    detector_input: tuple[int, int], sensor_aspect: float, *, alignment_px: int = 2
) -> tuple[int, int]:
    """The smallest (width, height) stream that fills `detector_input` without being enlarged.

    The width is a multiple of `alignment_px`, the height even and as close to
    `width / sensor_aspect` as an even number gets, and the result is at least the detector
    input along the limiting side (`width >= input width` or `height >= input height`), so the
    letterbox never upsamples. Example: a 416x416 detector on a 16:9 camera gets (416, 234),
    which the letterbox copies without resizing.

    Args:
        detector_input: (width, height) of the detector input in pixels.
        sensor_aspect: width / height of the camera picture (of the main stream, so the small
            stream shows the same field of view undistorted).
        alignment_px: multiple the width is rounded up to; 2 (even) gives the exact detector
            size. picamera2 crops any stride padding, so a larger alignment (64 fills a VC4
            YUV420 row exactly) only trades a resize for a cheaper crop.

    Raises:
        ValueError: a size is not positive, `sensor_aspect` is not a positive finite number, or
            `alignment_px` is not a positive even number.
    """
    if len(detector_input) != 2 or any(side <= 0 for side in detector_input):
        raise ValueError(f"detector_input must be (width, height) in positive pixels, got {detector_input!r}")
    if not (math.isfinite(sensor_aspect) and sensor_aspect > 0):
        raise ValueError(f"sensor_aspect must be a positive width / height ratio, got {sensor_aspect!r}")
    if alignment_px <= 0 or alignment_px % 2:
        raise ValueError(f"alignment_px must be a positive even number, got {alignment_px!r}")
    input_width, input_height = detector_input
    # Filling the input along either side is enough: the other side is then letterboxed.
    least_width = min(input_width, input_height * sensor_aspect)
    width = max(alignment_px, math.ceil(least_width / alignment_px - 1e-9) * alignment_px)
    while True:
        height = 2 * max(1, round(width / sensor_aspect / 2))
        if width >= input_width or height >= input_height:
            return width, height
        width += alignment_px  # the even height fell just short of the input height
