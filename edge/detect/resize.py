"""Re-target a fixed-size YOLOX ONNX export to another input size, without re-exporting.

YOLOX is fully convolutional, so only the graph's declared shapes and any constants derived from
the input size need changing. Our YOLOX-Nano export has none of the latter (the Focus stem slices
to INT64_MAX, the head reshapes to ``[1, 85, -1]``, the upsamplers use scales), but other exports
bake in the grid sizes (e.g. ``[1, 85, 52, 52]`` or ``[1, 85, 2704]``), explicit slice ends (416)
or resize target sizes; those are rewritten too. A constant that mentions a size-dependent value
in a way we cannot map unambiguously is refused with `ModelError` rather than guessed.

The patched model is checked by onnxruntime (one inference on a grey image, output must be
``1 x anchors x C`` for the new grids) before it atomically replaces ``dst``.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnx
import onnxruntime as ort  # the package's __init__ loads edge.detect.onnx first: telemetry is off
from onnx import numpy_helper

from edge.detect.onnx import INPUT_RANK
from edge.detect.sizing import SIZE_MULTIPLE
from edge.detect.yolox import STRIDES
from edge.errors import ModelError

logger = logging.getLogger(__name__)

# Down-sampling factors of the backbone (the Focus stem halves, then each stage halves again).
_FACTORS = (1, 2, 4, 8, 16, 32)
# Slice "to the end" sentinel used by PyTorch exports.
_INT64_MAX = np.iinfo(np.int64).max


def anchors_for(width: int, height: int) -> int:
    """Number of YOLOX anchors (rows of the output) for an input size."""
    return sum((height // stride) * (width // stride) for stride in STRIDES)


def model_input_size(path: Path) -> tuple[int, int]:
    """(width, height) of a YOLOX model's image input, read from the file without running it.

    Raises:
        ModelError: the file is not a readable ONNX model with a fixed NCHW input.
    """
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # OSError, protobuf DecodeError: onnx has no error hierarchy
        raise ModelError(f"cannot read model {path.name}: {exc}") from exc
    height, width = _input_dims(model, path)
    return width, height


def resize_model(src: Path, dst: Path, width: int, height: int) -> None:
    """Write a copy of the YOLOX model `src` that takes `width` x `height` input to `dst`.

    Args:
        src: fixed-size NCHW YOLOX ONNX model.
        dst: where to write the resized model (replaced atomically, parent must exist).
        width: new input width in pixels, a positive multiple of 32.
        height: new input height in pixels, a positive multiple of 32.

    Raises:
        ValueError: a size is not a positive multiple of 32.
        ModelError: the model cannot be read, patched or run at the new size.
    """
    for name, side in (("width", width), ("height", height)):
        if side <= 0 or side % SIZE_MULTIPLE:
            raise ValueError(f"{name} must be a positive multiple of {SIZE_MULTIPLE}, got {side}")
    try:
        model = onnx.load(str(src))
    except Exception as exc:  # OSError, protobuf DecodeError: onnx has no error hierarchy
        raise ModelError(f"cannot read model {src.name}: {exc}") from exc
    old_height, old_width = _input_dims(model, src)
    mapping = _SizeMapping(old_width, old_height, width, height)
    _patch_constants(model.graph, mapping)
    _patch_declared_shapes(model, width, height)
    _write_checked(model, dst, width, height)
    logger.info("resized %s from %dx%d to %dx%d -> %s", src.name, old_width, old_height, width, height, dst)


def _input_dims(model: onnx.ModelProto, src: Path) -> tuple[int, int]:
    inputs = [i for i in model.graph.input if i.name not in {t.name for t in model.graph.initializer}]
    if len(inputs) != 1:
        raise ModelError(f"{src.name}: expected one image input, got {len(inputs)}")
    dims = inputs[0].type.tensor_type.shape.dim
    values = [dim.dim_value if dim.HasField("dim_value") else 0 for dim in dims]
    if len(values) != INPUT_RANK or min(values) <= 0:
        raise ModelError(f"{src.name}: expected a fixed NCHW image input, got {values}")
    return values[2], values[3]


class _SizeMapping:
    """Old -> new values of every quantity that depends on the input size."""

    def __init__(self, old_width: int, old_height: int, width: int, height: int) -> None:
        self.pairs = [((old_height // f, old_width // f), (height // f, width // f)) for f in _FACTORS]
        self.areas = {(old_height // f) * (old_width // f): (height // f) * (width // f) for f in _FACTORS}
        self.old_total, self.new_total = anchors_for(old_width, old_height), anchors_for(width, height)
        self.sides = {side for pair, _ in self.pairs for side in pair}

    def shape(self, values: list[int], what: str) -> list[int]:
        """Rewrite a shape vector: (H, W) pairs, H*W products and the anchor total."""
        out, index = list(values), 0
        while index < len(out):
            pair = tuple(out[index : index + 2])
            new_pair = next((new for old, new in self.pairs if old == pair), None)
            if new_pair is not None and index >= 2:  # dims 0-1 are batch/channels
                out[index : index + 2] = new_pair
                index += 2
                continue
            if index >= 1 and out[index] == self.old_total:
                out[index] = self.new_total
            elif index >= 1 and out[index] in self.areas and out[index] > 1:
                out[index] = self.areas[out[index]]
            elif index >= 2 and out[index] in self.sides and out[index] > 1:
                raise ModelError(f"{what}: cannot tell which size {out[index]} in {values} refers to")
            index += 1
        return out


def _constant_tensors(graph: onnx.GraphProto) -> dict[str, onnx.TensorProto]:
    tensors = {tensor.name: tensor for tensor in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant":
            for attribute in node.attribute:
                if attribute.name == "value":
                    tensors[node.output[0]] = attribute.t
    return tensors


def _patch_constants(graph: onnx.GraphProto, mapping: _SizeMapping) -> None:
    """Rewrite Reshape shapes, Resize sizes and finite Slice ends that encode the input size."""
    tensors = _constant_tensors(graph)
    for node in graph.node:
        if node.op_type == "Reshape" and len(node.input) > 1:
            _rewrite(tensors, node.input[1], partial(mapping.shape, what=node.name))
        elif node.op_type == "Resize" and len(node.input) > 3 and node.input[3]:
            _rewrite(tensors, node.input[3], partial(mapping.shape, what=node.name))
        elif node.op_type == "Slice" and len(node.input) > 2:
            _rewrite(tensors, node.input[2], partial(_slice_ends, mapping=mapping, what=node.name))


def _slice_ends(values: list[int], mapping: _SizeMapping, what: str) -> list[int]:
    finite = [v for v in values if v != _INT64_MAX and v > 1 and v in mapping.sides]
    if finite:
        raise ModelError(f"{what}: slice ends {values} depend on the input size; re-export the model")
    return values


def _rewrite(
    tensors: dict[str, onnx.TensorProto], name: str, change: Callable[[list[int]], list[int]]
) -> None:
    tensor = tensors.get(name)
    if tensor is None:
        return  # computed at run time from Shape ops: follows the input by itself
    array: npt.NDArray[np.int64] = numpy_helper.to_array(tensor)
    new = np.asarray(change([int(v) for v in array.reshape(-1)]), dtype=array.dtype).reshape(array.shape)
    if not np.array_equal(new, array):
        tensor.CopyFrom(numpy_helper.from_array(new, tensor.name))


def _patch_declared_shapes(model: onnx.ModelProto, width: int, height: int) -> None:
    """Set the input dims and let shape inference redo every intermediate and output shape."""
    graph = model.graph
    dims = graph.input[0].type.tensor_type.shape.dim
    dims[2].dim_value, dims[3].dim_value = height, width
    del graph.value_info[:]
    for output in graph.output:
        for dim in output.type.tensor_type.shape.dim:
            dim.Clear()  # unknown until inferred below
    try:
        inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    except Exception as exc:  # onnx raises InferenceError and plain RuntimeErrors
        raise ModelError(f"shape inference failed at {width}x{height}: {exc}") from exc
    model.CopyFrom(inferred)


def _write_checked(model: onnx.ModelProto, dst: Path, width: int, height: int) -> None:
    handle, temporary = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=".tmp", dir=dst.parent)
    os.close(handle)
    try:
        onnx.save(model, temporary)
        _check_runs(Path(temporary), width, height)
        os.chmod(temporary, 0o644)  # mkstemp makes 0600: the service user must read the model
        os.replace(temporary, dst)
    finally:
        Path(temporary).unlink(missing_ok=True)


def _check_runs(path: Path, width: int, height: int) -> None:
    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        grey = np.full((1, 3, height, width), 114.0, dtype=np.float32)
        output = session.run(None, {session.get_inputs()[0].name: grey})[0]
    except Exception as exc:  # onnxruntime raises its own untyped errors; wrap once here.
        raise ModelError(f"resized model does not run at {width}x{height}: {exc}") from exc
    expected = anchors_for(width, height)
    if output.ndim != 3 or output.shape[:2] != (1, expected):
        raise ModelError(f"resized model outputs {output.shape}, expected (1, {expected}, C)")
