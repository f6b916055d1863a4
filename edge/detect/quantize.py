"""Static INT8 quantisation of the YOLOX detector (QDQ, per-channel weights), calibrated on real frames.

`footfall models quantize` calls `quantize_model` with frames from the device's own camera
(`sample_frames`), so the activation ranges are those of the scene it counts. Dynamic quantisation
is not offered: it destroys convolutional detectors.

What the study (benchmarks/quantize.py) found on YOLOX-Nano and what the defaults follow:
- The model takes un-normalised 0-255 pixels, so the activations of the first two convolutions
  have heavy tails (half the values within +-1, extremes near +-100): one uint8 scale per tensor
  wipes out the small values and loses ~10% of the people. Keeping those two convolutions (and
  the Focus slicing before them) in float is the largest single gain.
- The pre-activation of every SiLU (x * sigmoid(x)) is dominated by large negative values that
  SiLU maps to ~0; clamping its calibrated minimum to -8 (SiLU(-8) = -0.003) gives the useful
  range the uint8 steps.
- The head outputs (the last convolution of each branch and the sigmoid/concat/reshape after it)
  mix box regressions with scores and are kept in float; cheap, and never worse.
- Entropy and (symmetric) percentile calibration were no better than min/max here.
Even so, the default INT8 model is NOT within 1 point of FP32 on benchmarks/accuracy.py (tracking
on PETS09-S2L1 reacts to the small score and box changes): keep FP32 as the service default and
offer INT8 as an opt-in for devices that need the frame rate.
The float-kept nodes are chosen by graph structure (convolution depth from the input and to the
output), not by the node names of one export.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnx
from onnx import version_converter
from onnxruntime import quantization as ortq
from onnxruntime.quantization.registry import QDQRegistry, QLinearOpsRegistry

from edge.detect.letterbox import Letterbox
from edge.errors import ModelError
from edge.records import Frame, ImageArray

logger = logging.getLogger(__name__)

# Per-channel QDQ needs the `axis` attribute of QuantizeLinear/DequantizeLinear (opset 13).
QUANTIZE_OPSET = 13
# Fewest calibration frames accepted: fewer give ranges of one moment, not of the scene.
MIN_CALIBRATION_FRAMES = 8
# Convolutions whose output feeds x * sigmoid(x); what they produce below -SILU_FLOOR is ~0 after SiLU.
SILU_FLOOR = 8.0


class Calibration(StrEnum):
    """How activation ranges are taken from the calibration frames."""

    MINMAX = "minmax"
    ENTROPY = "entropy"
    PERCENTILE = "percentile"


@dataclass(frozen=True, slots=True)
class QuantizeOptions:
    """Choices of a quantisation run; the defaults are the study's best (benchmarks/RESULTS.md).

    Attributes:
        calibration: range estimation method.
        percentile: kept share of |values| in percent, for `Calibration.PERCENTILE` (symmetric).
        float_stem_convs: convolutions counted from the input kept in float, with what precedes
            them (Focus slicing) and their activations.
        float_head_convs: convolutions counted back from the output kept in float, with what
            follows them (sigmoids, concatenations, reshape, transpose); 0 keeps only those.
        silu_floor: clamp of the calibrated minimum of SiLU pre-activations, or None for none.
        extra_float_nodes: further node names kept in float (for sensitivity studies).
        min_frames: fewest calibration frames accepted.
    """

    calibration: Calibration = Calibration.MINMAX
    percentile: float = 99.999
    float_stem_convs: int = 2
    float_head_convs: int = 1
    silu_floor: float | None = SILU_FLOOR
    extra_float_nodes: frozenset[str] = frozenset()
    min_frames: int = MIN_CALIBRATION_FRAMES

    def __post_init__(self) -> None:
        if self.float_stem_convs < 0 or self.float_head_convs < 0:
            raise ValueError("float_stem_convs and float_head_convs must be >= 0")
        if not 0.0 < self.percentile <= 100.0:
            raise ValueError(f"percentile must be in (0, 100], got {self.percentile}")
        if self.silu_floor is not None and self.silu_floor <= 0.0:
            raise ValueError(f"silu_floor must be positive or None, got {self.silu_floor}")
        if self.min_frames < 1:
            raise ValueError(f"min_frames must be >= 1, got {self.min_frames}")


@dataclass(frozen=True, slots=True)
class QuantizeReport:
    """What a quantisation run produced.

    Attributes:
        out_path: the INT8 model written.
        frames: calibration frames used (0 when ranges came from a calibration cache).
        calibration: range estimation method.
        float_nodes: names of the nodes kept in float.
        quantized_nodes: nodes of the source graph that run in INT8.
        elapsed_s: wall time of the run.
    """

    out_path: Path
    frames: int
    calibration: Calibration
    float_nodes: tuple[str, ...]
    quantized_nodes: int
    elapsed_s: float


def quantize_model(
    fp32_path: Path,
    frames: Iterable[ImageArray],
    out_path: Path,
    *,
    options: QuantizeOptions | None = None,
    calibration_cache: Path | None = None,
) -> QuantizeReport:
    """Write a static INT8 (QDQ, per-channel) copy of a YOLOX model calibrated on `frames`.

    Args:
        fp32_path: the float .onnx model (fixed NCHW input).
        frames: BGR images of any size; letterboxed exactly as the detector does.
        out_path: where the INT8 model goes; written to a temporary file and renamed.
        options: quantisation choices; the study's defaults when None.
        calibration_cache: a JSON file of activation ranges: read if it exists (then `frames` may
            be empty), else written after calibrating. Ranges depend on the method and the frames.

    Raises:
        ModelError: the model cannot be read or quantised, or there are too few frames.
    """
    options = options or QuantizeOptions()
    started = time.monotonic()
    model = _load(fp32_path)
    height, width = _input_size(model, fp32_path)
    cached = calibration_cache is not None and calibration_cache.is_file()
    tensors = [] if cached else _letterboxed(frames, height, width)
    if not cached and len(tensors) < options.min_frames:
        raise ModelError(
            f"quantising {fp32_path.name} needs at least {options.min_frames} calibration frames, "
            f"got {len(tensors)}"
        )
    with tempfile.TemporaryDirectory(prefix="footfall-quantize-") as work:
        prepared = _prepare(model, Path(work), fp32_path)
        graph = onnx.load(str(prepared)).graph
        if cached:
            assert calibration_cache is not None
            ranges = _load_ranges(calibration_cache, options.calibration)
        else:
            ranges = _calibrate(prepared, model.graph.input[0].name, tensors, options, Path(work))
            if calibration_cache is not None:
                ortq.save_tensors_data(ranges, calibration_cache)
        if options.silu_floor is not None:
            _clamp_silu_inputs(graph, ranges, options.silu_floor)
        float_nodes = float_node_names(
            graph, stem_convs=options.float_stem_convs, head_convs=options.float_head_convs
        ) | (options.extra_float_nodes & {node.name for node in graph.node})
        _quantize(prepared, ranges, float_nodes, out_path, Path(work))
    report = QuantizeReport(
        out_path,
        len(tensors),
        options.calibration,
        tuple(sorted(float_nodes)),
        len(graph.node) - len(float_nodes),
        time.monotonic() - started,
    )
    logger.info(
        "wrote %s: %d nodes INT8, %d float, %s calibration on %d frames, %.1f s",
        out_path.name, report.quantized_nodes, len(float_nodes), options.calibration, report.frames,
        report.elapsed_s,
    )  # fmt: skip
    return report


def sample_frames(frames: Iterable[Frame], count: int, every_s: float) -> list[ImageArray]:
    """Take `count` frames at least `every_s` seconds of media time apart (e.g. from a camera).

    Args:
        frames: a `FrameSource` or any iterable of frames; the caller opens and closes it.
        count: frames wanted; fewer are returned if the source ends first.
        every_s: spacing in media seconds, so a clip and a live camera sample alike.
    """
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    if every_s < 0.0:
        raise ValueError(f"every_s must be >= 0, got {every_s}")
    taken: list[ImageArray] = []
    next_s = -np.inf
    for frame in frames:
        if frame.timestamp_s < next_s:
            continue
        taken.append(frame.image.copy())  # live sources may reuse their buffers
        next_s = frame.timestamp_s + every_s
        logger.debug("calibration frame %d/%d at %.1f s", len(taken), count, frame.timestamp_s)
        if len(taken) == count:
            break
    return taken


def float_node_names(graph: onnx.GraphProto, *, stem_convs: int, head_convs: int) -> frozenset[str]:
    """Nodes within `stem_convs` convolutions of the input or `head_convs` of the output.

    A node's depth from the input is the largest number of Conv nodes on a path from the graph
    input to it (itself included); its depth to the output likewise towards the outputs. Nodes
    at depth 0 to the output (after the last convolution of every branch) are always included.
    """
    nodes = list(graph.node)  # ONNX graphs are topologically sorted
    producers = {output: node.name for node in nodes for output in node.output}
    consumers: dict[str, list[str]] = {}
    for node in nodes:
        for name in node.input:
            consumers.setdefault(name, []).append(node.name)
    from_input: dict[str, int] = {}
    for node in nodes:
        before = max((from_input[producers[i]] for i in node.input if i in producers), default=0)
        from_input[node.name] = before + (node.op_type == "Conv")
    to_output: dict[str, int] = {}
    for node in reversed(nodes):
        after = max((to_output[c] for o in node.output for c in consumers.get(o, [])), default=0)
        to_output[node.name] = after + (node.op_type == "Conv")
    return frozenset(
        node.name
        for node in nodes
        if from_input[node.name] <= stem_convs or to_output[node.name] <= max(head_convs, 0)
    )


def _load(fp32_path: Path) -> onnx.ModelProto:
    if not fp32_path.is_file():
        raise ModelError(f"model file not found: {fp32_path}")
    try:
        model = onnx.load(str(fp32_path))
        onnx.checker.check_model(model)
    except Exception as exc:  # onnx raises DecodeError, ValidationError, ...: wrap once here
        raise ModelError(f"cannot read model {fp32_path.name}: {exc}") from exc
    return model


def _input_size(model: onnx.ModelProto, fp32_path: Path) -> tuple[int, int]:
    if len(model.graph.input) != 1:
        raise ModelError(f"{fp32_path.name}: expected one image input, got {len(model.graph.input)}")
    dims = [dim.dim_value for dim in model.graph.input[0].type.tensor_type.shape.dim]
    if len(dims) != 4 or min(dims) <= 0:
        raise ModelError(f"{fp32_path.name}: expected a fixed NCHW image input, got {dims}")
    return dims[2], dims[3]


def _letterboxed(frames: Iterable[ImageArray], height: int, width: int) -> list[npt.NDArray[np.float32]]:
    letterbox = Letterbox(height, width, buffers=1)
    return [letterbox(image)[0].copy() for image in frames]


def _prepare(model: onnx.ModelProto, work: Path, fp32_path: Path) -> Path:
    """Opset 13 (per-channel axis) and onnxruntime's pre-processing (shape inference, folding)."""
    prepared = work / "prepared.onnx"
    try:
        opset = next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
        if opset < QUANTIZE_OPSET:
            model = version_converter.convert_version(model, QUANTIZE_OPSET)
        onnx.save(model, str(work / "opset.onnx"))
        # Symbolic shape inference needs sympy and adds nothing for a fixed input size.
        ortq.quant_pre_process(str(work / "opset.onnx"), str(prepared), skip_symbolic_shape=True)
    except Exception as exc:  # converter and optimiser fail with assorted exception types
        raise ModelError(f"cannot prepare {fp32_path.name} for quantisation: {exc}") from exc
    return prepared


_METHODS = {
    Calibration.MINMAX: ortq.CalibrationMethod.MinMax,
    Calibration.ENTROPY: ortq.CalibrationMethod.Entropy,
    Calibration.PERCENTILE: ortq.CalibrationMethod.Percentile,
}


class _Reader(ortq.CalibrationDataReader):  # type: ignore[misc]  # untyped base class
    def __init__(self, input_name: str, tensors: list[npt.NDArray[np.float32]]) -> None:
        self._input_name = input_name
        self._tensors = tensors
        self._iterator: Iterator[npt.NDArray[np.float32]] = iter(tensors)

    def get_next(self) -> dict[str, npt.NDArray[np.float32]] | None:
        tensor = next(self._iterator, None)
        return None if tensor is None else {self._input_name: tensor}

    def __len__(self) -> int:
        return len(self._tensors)


def _calibrate(
    prepared: Path,
    input_name: str,
    tensors: list[npt.NDArray[np.float32]],
    options: QuantizeOptions,
    work: Path,
) -> Any:
    extra = {"percentile": options.percentile} if options.calibration is Calibration.PERCENTILE else {}
    logger.info("calibrating (%s) on %d frames", options.calibration, len(tensors))
    try:
        # The histogram calibrators print their progress to stdout; keep it out of the CLI's output.
        with contextlib.redirect_stdout(io.StringIO()):
            calibrator = ortq.create_calibrator(
                prepared,
                list(set(QLinearOpsRegistry) | set(QDQRegistry)),
                augmented_model_path=str(work / "augmented.onnx"),
                calibrate_method=_METHODS[options.calibration],
                extra_options=extra,
            )
            calibrator.collect_data(_Reader(input_name, tensors))
            return calibrator.compute_data()
    except Exception as exc:  # onnxruntime raises its own untyped errors
        raise ModelError(f"calibration failed: {exc}") from exc


def _load_ranges(cache: Path, calibration: Calibration) -> Any:
    try:
        ranges = ortq.load_tensors_data(cache)
    except Exception as exc:  # a truncated or foreign JSON file
        raise ModelError(f"cannot read calibration cache {cache.name}: {exc}") from exc
    if ranges.calibration_method != _METHODS[calibration]:
        raise ModelError(
            f"calibration cache {cache.name} holds {ranges.calibration_method}, not {calibration}"
        )
    return ranges


def _clamp_silu_inputs(graph: onnx.GraphProto, ranges: Any, floor: float) -> None:
    """Raise the calibrated minimum of every SiLU pre-activation to -floor."""
    consumers: dict[str, set[str]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, set()).add(node.op_type)
    for node in graph.node:
        output = node.output[0]
        if node.op_type == "Conv" and consumers.get(output) == {"Sigmoid", "Mul"} and output in ranges:
            data = ranges[output]
            data.lowest = np.maximum(data.lowest, np.float32(-floor)).astype(np.float32)


def _quantize(prepared: Path, ranges: Any, float_nodes: frozenset[str], out_path: Path, work: Path) -> None:
    cache = work / "ranges.json"
    ortq.save_tensors_data(ranges, cache)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=out_path.parent, prefix=f".{out_path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        ortq.quantize_static(
            str(prepared),
            temporary,
            None,
            quant_format=ortq.QuantFormat.QDQ,
            per_channel=True,
            activation_type=ortq.QuantType.QUInt8,  # int8 activations are slow on x86
            weight_type=ortq.QuantType.QInt8,
            nodes_to_exclude=sorted(float_nodes),
            calibrate_method=ranges.calibration_method,
            calibration_cache_path=str(cache),
        )
        os.chmod(temporary, 0o644)  # mkstemp makes 0600: the service user must read the model
        os.replace(temporary, out_path)
    except Exception as exc:  # onnxruntime raises its own untyped errors
        raise ModelError(f"quantisation failed: {exc}") from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
