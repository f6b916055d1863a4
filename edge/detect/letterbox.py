"""Letterbox a BGR frame into the model's square input without distorting people.

YOLOX was trained on images resized with their aspect ratio kept and padded with grey (114) at
the bottom and right, so boxes map back to the source with a single scale factor.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from edge.records import ImageArray

# Grey level YOLOX pads with during training; other values shift scores slightly.
PAD_VALUE = 114


class Letterbox:
    """Reusable preprocessor writing into a small ring of preallocated NCHW float32 buffers.

    Args:
        input_height: model input height in pixels.
        input_width: model input width in pixels.
        buffers: tensors in the ring; a returned tensor stays valid for `buffers - 1` more calls,
            so one frame can be prepared while the previous one is still being inferred.
    """

    def __init__(self, input_height: int, input_width: int, *, buffers: int = 2) -> None:
        if input_height <= 0 or input_width <= 0:
            raise ValueError(f"input size must be positive, got {input_height}x{input_width}")
        if buffers < 1:
            raise ValueError(f"buffers must be >= 1, got {buffers}")
        self.input_height = input_height
        self.input_width = input_width
        self._canvas = np.full((input_height, input_width, 3), PAD_VALUE, dtype=np.uint8)
        self._tensors = [
            np.empty((1, 3, input_height, input_width), dtype=np.float32) for _ in range(buffers)
        ]
        self._next = 0
        self._last_resized: tuple[int, int] = (input_height, input_width)

    def __call__(self, image: ImageArray) -> tuple[npt.NDArray[np.float32], float]:
        """Return the model input tensor (from the ring) and the source->input scale."""
        height, width = image.shape[:2]
        scale = min(self.input_height / height, self.input_width / width)
        resized_h, resized_w = round(height * scale), round(width * scale)
        if (resized_h, resized_w) != self._last_resized:
            # Only a change of source size needs the padding repainted.
            self._canvas.fill(PAD_VALUE)
            self._last_resized = (resized_h, resized_w)
        if scale == 1.0:
            self._canvas[:height, :width] = image
        else:
            target = self._canvas[:resized_h, :resized_w]
            resized = cv2.resize(image, (resized_w, resized_h), dst=target, interpolation=cv2.INTER_LINEAR)
            if resized is not target:  # OpenCV builds that refuse a strided dst return a new array.
                target[...] = resized
        # HWC uint8 -> CHW float32 in one pass into the reused buffer.
        tensor = self._tensors[self._next]
        self._next = (self._next + 1) % len(self._tensors)
        np.copyto(tensor[0], self._canvas.transpose(2, 0, 1), casting="unsafe")
        return tensor, scale
