"""`OnnxDetector`: a YOLOX person detector on onnxruntime's CPU provider."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import numpy.typing as npt

# onnxruntime >= 1.2x on Linux records device and usage events (Microsoft 1DS telemetry) in
# ~/.cache/Microsoft/DeveloperTools and queues them for upload. A municipal counter must send
# nothing to third parties: this switch is only honoured if set before onnxruntime is loaded
# (found by tests/e2e/test_privacy_audit.py; README D-014).
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

import onnxruntime as ort  # after the telemetry switch above, on purpose

from edge.detect.letterbox import Letterbox
from edge.detect.yolox import YoloxDecoder
from edge.errors import ModelError
from edge.records import Detections, Frame

logger = logging.getLogger(__name__)

# Tensor rank of the expected NCHW image input.
INPUT_RANK = 4


class OnnxDetector:
    """Detects people with a YOLOX ONNX model.

    The input size is read from the model, so the same code runs the 416 default and any
    re-export at another size.

    Args:
        model_path: path to the .onnx file.
        threads: intra-op threads for onnxruntime; 0 picks one fewer than the usable cores (at
            least 1), leaving a core for decoding, tracking and counting, which overlap with
            inference (README D-009).
        score_threshold: minimum person score kept. Low on purpose: the tracker uses weak
            detections to keep existing tracks alive through occlusion (ByteTrack).
        nms_iou: IoU above which overlapping boxes are merged.
    """

    def __init__(
        self, model_path: Path, *, threads: int = 0, score_threshold: float = 0.1, nms_iou: float = 0.45
    ) -> None:
        if threads < 0:
            raise ValueError(f"threads must be >= 0, got {threads}")
        threads = threads or default_threads()
        self._session = _open_session(model_path, threads)
        model_input = self._session.get_inputs()[0]
        self._input_name: str = model_input.name
        input_height, input_width = _input_size(model_input.shape, model_path)
        self._letterbox = Letterbox(input_height, input_width)
        self._decoder = YoloxDecoder(
            input_height, input_width, score_threshold=score_threshold, nms_iou=nms_iou
        )
        logger.info(
            "loaded %s (%dx%d input, %d threads)", model_path.name, input_width, input_height, threads
        )

    @property
    def input_size(self) -> tuple[int, int]:
        """Model input (width, height) in pixels."""
        return (self._letterbox.input_width, self._letterbox.input_height)

    def detect(self, frame: Frame) -> Detections:
        tensor, scale = self.preprocess(frame)
        return self.postprocess(self.infer(tensor), scale, frame)

    def preprocess(self, frame: Frame) -> tuple[npt.NDArray[np.float32], float]:
        """Letterbox a frame; the tensor comes from a ring of two, valid until the call after next."""
        return self._letterbox(frame.image)

    def infer(self, tensor: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Run the bare model on a prepared input tensor; returns the raw head for one image."""
        try:
            outputs = self._session.run(None, {self._input_name: tensor})
        except Exception as exc:  # onnxruntime raises its own untyped errors; wrap once here.
            raise ModelError(f"inference failed: {exc}") from exc
        head: npt.NDArray[np.float32] = outputs[0][0]
        return head

    def postprocess(self, head: npt.NDArray[np.float32], scale: float, frame: Frame) -> Detections:
        """Decode the raw head into person boxes in the frame's pixels."""
        boxes, scores = self._decoder(head, scale, frame.width, frame.height)
        return Detections(frame.index, frame.timestamp_s, frame.width, frame.height, boxes, scores)


def default_threads() -> int:
    """Inference threads when none are configured: every usable core but one, at least one."""
    return max(1, len(os.sched_getaffinity(0)) - 1)


def _open_session(model_path: Path, threads: int) -> ort.InferenceSession:
    if not model_path.is_file():
        raise ModelError(f"model file not found: {model_path}")
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3  # errors only: the CPU provider warns about unused GPU options
    try:
        return ort.InferenceSession(str(model_path), sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # a truncated or non-ONNX file fails deep inside onnxruntime
        raise ModelError(f"cannot load model {model_path.name}: {exc}") from exc


def _input_size(shape: list[object], model_path: Path) -> tuple[int, int]:
    if len(shape) != INPUT_RANK or not all(isinstance(side, int) for side in shape[2:]):
        raise ModelError(f"{model_path.name}: expected a fixed NCHW image input, got shape {shape}")
    height, width = shape[2], shape[3]
    assert isinstance(height, int)
    assert isinstance(width, int)
    return height, width
