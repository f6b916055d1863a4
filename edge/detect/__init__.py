"""Person detection: one frame in, `Detections` out.

Owns onnxruntime (no other package imports it), letterbox preprocessing and YOLOX decoding.
Must NOT track, count, read settings or touch the network; frames are never stored.
"""

from __future__ import annotations

from typing import Protocol

from edge.detect.onnx import OnnxDetector
from edge.records import Detections, Frame

__all__ = ["Detector", "OnnxDetector"]


class Detector(Protocol):
    """Finds people in a frame."""

    def detect(self, frame: Frame) -> Detections:
        """Return the people in `frame`, boxes in source pixels."""
        ...
