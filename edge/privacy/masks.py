"""Privacy masks: paint calibrated polygons black before the detector sees the frame.

House windows, private gardens and other places the city must not watch are blacked out in a copy
of every frame, so nobody there is detected, tracked, counted or shown in a snapshot.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import numpy.typing as npt

from edge.records import ImageArray, PrivacyMaskSpec


class MaskPainter:
    """Blacks out privacy masks; pixel polygons are computed once per frame size.

    Args:
        masks: the calibrated masks (normalised coordinates); none makes `apply` a no-op.
    """

    def __init__(self, masks: Sequence[PrivacyMaskSpec]) -> None:
        self._masks = tuple(masks)
        self._size: tuple[int, int] | None = None
        self._polygons: list[npt.NDArray[np.int32]] = []

    @property
    def active(self) -> bool:
        return bool(self._masks)

    def apply(self, image: ImageArray) -> ImageArray:
        """A copy of `image` with every mask filled black (the image itself if there are no masks)."""
        if not self._masks:
            return image
        height, width = image.shape[:2]
        if self._size != (width, height):
            self._size = (width, height)
            scale = np.array([width, height], dtype=np.float64)
            self._polygons = [
                np.round(np.asarray(mask.polygon, dtype=np.float64) * scale).astype(np.int32)
                for mask in self._masks
            ]
        masked = image.copy()
        cv2.fillPoly(masked, self._polygons, (0, 0, 0))
        return np.asarray(masked, dtype=np.uint8)
