"""Static INT8 quantisation of the real YOLOX-Nano model, calibrated and checked on real frames."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from scipy.optimize import linear_sum_assignment

from edge.detect import OnnxDetector
from edge.detect.quantize import (
    QuantizeOptions,
    QuantizeReport,
    float_node_names,
    quantize_model,
    sample_frames,
)
from edge.errors import ModelError
from edge.records import Frame, ImageArray
from edge.sources import open_source

PETS = "PETS09-S2L1-300"
# Calibration on 8 frames of the first half, evaluation on 10 other frames of the second half.
CALIBRATION_FRAMES = range(1, 150, 19)
EVALUATION_FRAMES = range(156, 301, 15)
# Measured 0.95-1.0 of the FP32 people (score >= 0.5) on these frames; margin for other CPUs.
MIN_RECALL = 0.85


def _read(sequence: Path, number: int) -> ImageArray:
    image = cv2.imread(str(sequence / "img1" / f"{number:06d}.jpg"))
    assert image is not None
    return np.asarray(image, dtype=np.uint8)


def _matched(first: npt.NDArray[np.float32], second: npt.NDArray[np.float32]) -> int:
    if len(first) == 0 or len(second) == 0:
        return 0
    top_left = np.maximum(first[:, None, :2], second[None, :, :2])
    bottom_right = np.minimum(first[:, None, 2:], second[None, :, 2:])
    overlap = np.clip(bottom_right - top_left, 0.0, None).prod(axis=2)
    areas = (first[:, 2:] - first[:, :2]).prod(axis=1)[:, None] + (second[:, 2:] - second[:, :2]).prod(axis=1)
    iou = overlap / (areas - overlap)
    rows, cols = linear_sum_assignment(-iou)
    return int(np.sum(iou[rows, cols] >= 0.5))


@pytest.fixture(scope="module")
def quantized(
    model_path: Path, shared_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> QuantizeReport:
    frames = [_read(shared_data / PETS, number) for number in CALIBRATION_FRAMES]
    out = tmp_path_factory.mktemp("int8") / "yolox_nano_int8.onnx"
    return quantize_model(model_path, frames, out)


def test_writes_a_qdq_model_with_per_channel_weights(quantized: QuantizeReport) -> None:
    assert quantized.out_path.is_file()
    assert quantized.frames == len(CALIBRATION_FRAMES)
    assert list(quantized.out_path.parent.iterdir()) == [quantized.out_path]  # no temporary left
    graph = onnx.load(str(quantized.out_path)).graph
    ops = [node.op_type for node in graph.node]
    assert ops.count("QuantizeLinear") > 50
    weights = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    per_channel = [
        node
        for node in graph.node
        if node.op_type == "DequantizeLinear"
        and node.input[0] in weights
        and weights[node.input[0]].dtype == np.int8
        and weights[node.input[1]].size > 1
    ]
    assert len(per_channel) > 50
    assert all(weights[n.input[1]].size == weights[n.input[0]].shape[0] for n in per_channel)
    float_convs = [n for n in graph.node if n.op_type == "Conv" and n.name in quantized.float_nodes]
    assert len(float_convs) == 2 + 9  # the stem's two and the three predictions of each of 3 scales


def test_finds_most_of_the_people_fp32_finds_on_other_frames(
    quantized: QuantizeReport, model_path: Path, shared_data: Path
) -> None:
    fp32 = OnnxDetector(model_path, threads=2)
    int8 = OnnxDetector(quantized.out_path, threads=2)
    assert int8.input_size == (416, 416)
    matched = total = found = 0
    for number in EVALUATION_FRAMES:
        frame = Frame(number - 1, (number - 1) / 7.0, _read(shared_data / PETS, number))
        reference, candidate = fp32.detect(frame), int8.detect(frame)
        reference_boxes = reference.boxes[reference.scores >= 0.5]
        candidate_boxes = candidate.boxes[candidate.scores >= 0.5]
        matched += _matched(reference_boxes, candidate_boxes)
        total += len(reference_boxes)
        found += len(candidate_boxes)
    assert total > 50  # PETS09 S2L1 has 5-8 people per frame
    assert matched / total >= MIN_RECALL
    assert matched / found >= MIN_RECALL  # and few people FP32 does not see


def test_float_nodes_are_chosen_by_structure() -> None:
    def conv(name: str, source: str, output: str) -> onnx.NodeProto:
        return helper.make_node("Conv", [source, f"{name}.w"], [output], name=name)

    nodes = [
        helper.make_node("Slice", ["x", "s", "e"], ["sliced"], name="focus"),
        conv("stem", "sliced", "a"),
        helper.make_node("Sigmoid", ["a"], ["a_sig"], name="stem_sigmoid"),
        helper.make_node("Mul", ["a", "a_sig"], ["b"], name="stem_mul"),
        conv("body", "b", "c"),
        conv("box", "c", "box_out"),
        conv("score", "c", "score_raw"),
        helper.make_node("Sigmoid", ["score_raw"], ["score_out"], name="score_sigmoid"),
        helper.make_node("Concat", ["box_out", "score_out"], ["y"], name="concat", axis=1),
    ]
    value = helper.make_tensor_value_info
    graph = helper.make_graph(
        nodes, "g", [value("x", TensorProto.FLOAT, [1, 3, 8, 8])], [value("y", TensorProto.FLOAT, None)]
    )
    assert float_node_names(graph, stem_convs=0, head_convs=0) == {"focus", "score_sigmoid", "concat"}
    assert float_node_names(graph, stem_convs=1, head_convs=1) == {
        "focus", "stem", "stem_sigmoid", "stem_mul", "box", "score", "score_sigmoid", "concat",
    }  # fmt: skip
    assert "body" in float_node_names(graph, stem_convs=2, head_convs=0)


def test_sample_frames_spaces_frames_in_media_time(shared_data: Path) -> None:
    with open_source(str(shared_data / "PETS09-S3-MF1"), fps=7.0) as source:
        frames = sample_frames(source, 5, every_s=2.0)
    assert len(frames) == 5
    assert all(frame.shape == (576, 768, 3) for frame in frames)
    with open_source(str(shared_data / "PETS09-S3-MF1"), fps=7.0) as source:
        everything = [frame.image for frame in source]
    picked = [next(i for i, image in enumerate(everything) if np.array_equal(image, f)) for f in frames]
    assert np.all(np.diff(picked) >= 14)  # 2 s at 7 fps
    with open_source(str(shared_data / "PETS09-S3-MF1"), fps=7.0) as source:
        assert len(sample_frames(source, 100, every_s=5.0)) == 4  # 107 frames = 15.3 s


@pytest.mark.parametrize(
    ("case", "match"),
    [("missing model", "not found"), ("not onnx", "cannot read"), ("no frames", "at least 8")],
    ids=["missing-model", "not-onnx", "zero-frames"],
)
def test_errors_are_model_errors(
    case: str, match: str, model_path: Path, shared_data: Path, tmp_path: Path
) -> None:
    source = {"missing model": tmp_path / "absent.onnx", "not onnx": tmp_path / "junk.onnx"}.get(
        case, model_path
    )
    if case == "not onnx":
        source.write_bytes(b"not a model")
    out = tmp_path / "out" / "int8.onnx"
    frames = [] if case == "no frames" else [_read(shared_data / PETS, 1)] * 8
    with pytest.raises(ModelError, match=match):
        quantize_model(source, frames, out)
    assert not out.exists()


def test_options_are_validated() -> None:
    with pytest.raises(ValueError, match="silu_floor"):
        QuantizeOptions(silu_floor=0.0)
    with pytest.raises(ValueError, match="min_frames"):
        QuantizeOptions(min_frames=0)
