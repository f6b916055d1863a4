"""Person detection: one frame in, `Detections` out.

Owns onnxruntime (no other package imports it), letterbox preprocessing and YOLOX decoding.
Must NOT track, count, read settings or touch the network; frames are never stored.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import numpy.typing as npt

from edge.detect.onnx import OnnxDetector
from edge.records import Detections, Frame

__all__ = ["Detector", "OnnxDetector", "StagedDetector"]


class Detector(Protocol):
    """Finds people in a frame."""

    def detect(self, frame: Frame) -> Detections:
        """Return the people in `frame`, boxes in source pixels."""
        ...


class StagedDetector(Detector, Protocol):
    """A detector whose inference step can run in another thread while the caller works on."""

    @property
    def input_size(self) -> tuple[int, int]:
        """Model input (width, height) in pixels."""
        ...

    def preprocess(self, frame: Frame) -> tuple[npt.NDArray[np.float32], float]:
        """Model input for a frame (valid until the call after next) and its scale."""
        ...

    def infer(self, tensor: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Raw model output for one input; releases the GIL while it runs."""
        ...

    def postprocess(self, head: npt.NDArray[np.float32], scale: float, frame: Frame) -> Detections:
        """People in the frame from the raw output."""
        ...
