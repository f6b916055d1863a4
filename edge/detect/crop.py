"""Region-of-interest crop: the detector looks only at the part of the frame that matters.

A site counts people on a few lines and in a few zones; pixels far from them only cost
inference time. `CroppedDetector` wraps any staged detector, hands it a view of the region
(``frame.image[top:bottom, left:right]``, no copy) and shifts the boxes back, so the tracker and
counter still see full-frame pixel coordinates and the frame's own width and height. The region
itself is chosen per site by `edge.detect.site.region_of_interest` (lines and zones plus a margin
of about one person height, so people are seen whole before their feet reach a line).

People outside the region are not detected at all: the crop must contain every place where a
foot point may cross a line or stand in a zone, plus the approach to it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from edge.records import Detections, Frame

if TYPE_CHECKING:
    import numpy.typing as npt

    from edge.detect import StagedDetector


@dataclass(frozen=True, slots=True)
class Crop:
    """A rectangle of the frame in normalised [0, 1] coordinates (x right, y down).

    Attributes:
        left: left edge, fraction of the width.
        top: top edge, fraction of the height.
        right: right edge, fraction of the width (> left).
        bottom: bottom edge, fraction of the height (> top).
    """

    left: float = 0.0
    top: float = 0.0
    right: float = 1.0
    bottom: float = 1.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.left < self.right <= 1.0:
            raise ValueError(
                f"crop left/right must satisfy 0 <= left < right <= 1, got {self.left}, {self.right}"
            )
        if not 0.0 <= self.top < self.bottom <= 1.0:
            raise ValueError(
                f"crop top/bottom must satisfy 0 <= top < bottom <= 1, got {self.top}, {self.bottom}"
            )

    @property
    def is_full(self) -> bool:
        """True if the crop is the whole frame (cropping would change nothing)."""
        return (self.left, self.top, self.right, self.bottom) == (0.0, 0.0, 1.0, 1.0)

    @property
    def area(self) -> float:
        """Fraction of the frame's area inside the crop."""
        return (self.right - self.left) * (self.bottom - self.top)

    def pixels(self, width: int, height: int) -> tuple[int, int, int, int]:
        """(left, top, right, bottom) in whole pixels of a `width` x `height` frame, never empty.

        Edges are rounded outwards, so the pixel rectangle always contains the normalised one.
        """
        left = min(max(0, math.floor(self.left * width + 1e-9)), width - 1)
        top = min(max(0, math.floor(self.top * height + 1e-9)), height - 1)
        right = max(min(width, math.ceil(self.right * width - 1e-9)), left + 1)
        bottom = max(min(height, math.ceil(self.bottom * height - 1e-9)), top + 1)
        return left, top, right, bottom


class CroppedDetector:
    """Runs an inner detector on a crop of each frame; boxes come back in full-frame pixels.

    Implements the staged protocol (`preprocess` / `infer` / `postprocess`) as well as `detect`,
    so the pipeline can overlap inference with tracking exactly as without a crop.

    Args:
        inner: the detector to run on the crop (usually an `OnnxDetector` whose input size
            matches the crop's aspect ratio, see `edge.detect.site`).
        crop: the region of the frame to look at.
    """

    def __init__(self, inner: StagedDetector, crop: Crop) -> None:
        self._inner = inner
        self.crop = crop

    @property
    def input_size(self) -> tuple[int, int]:
        """The inner model's input (width, height) in pixels."""
        return self._inner.input_size

    def detect(self, frame: Frame) -> Detections:
        tensor, scale = self.preprocess(frame)
        return self.postprocess(self.infer(tensor), scale, frame)

    def preprocess(self, frame: Frame) -> tuple[npt.NDArray[np.float32], float]:
        """The inner detector's input for the crop of `frame`, and its scale."""
        return self._inner.preprocess(self._cropped(frame)[0])

    def infer(self, tensor: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Run the inner model (releases the GIL while it runs)."""
        return self._inner.infer(tensor)

    def postprocess(self, head: npt.NDArray[np.float32], scale: float, frame: Frame) -> Detections:
        """Decode on the crop, then shift the boxes to `frame`'s pixels."""
        cropped, (left, top) = self._cropped(frame)
        found = self._inner.postprocess(head, scale, cropped)
        boxes = found.boxes + np.array([left, top, left, top], dtype=np.float32)
        searched = self.crop.pixels(frame.width, frame.height)
        return Detections(
            frame.index, frame.timestamp_s, frame.width, frame.height, boxes, found.scores, searched
        )

    def _cropped(self, frame: Frame) -> tuple[Frame, tuple[int, int]]:
        left, top, right, bottom = self.crop.pixels(frame.width, frame.height)
        return replace(frame, image=frame.image[top:bottom, left:right]), (left, top)
