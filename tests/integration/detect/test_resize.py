"""The real YOLOX-Nano model patched to other input sizes, and the crop wrapper, on real frames."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest
from scipy.optimize import linear_sum_assignment

from edge.detect import OnnxDetector
from edge.detect.crop import Crop, CroppedDetector
from edge.detect.resize import anchors_for, resize_model
from edge.errors import ModelError
from edge.records import Frame

# PETS09-S2L1 frames with several people spread over the scene.
FRAME_NUMBERS = (1, 101, 201)
CONFIDENT = 0.5
# The crop moves the stride grid by a fraction of a cell: boxes of ~90 px people may move this much.
MAX_SHIFT_PX = 6.0


def _iou(first: npt.NDArray[np.float64], second: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    top_left = np.maximum(first[:, None, :2], second[None, :, :2])
    bottom_right = np.minimum(first[:, None, 2:], second[None, :, 2:])
    overlap = np.clip(bottom_right - top_left, 0.0, None).prod(axis=2)
    area_first = (first[:, 2:] - first[:, :2]).prod(axis=1)
    area_second = (second[:, 2:] - second[:, :2]).prod(axis=1)
    result: npt.NDArray[np.float64] = overlap / (area_first[:, None] + area_second[None, :] - overlap)
    return result


def _matched(reference: npt.NDArray[np.float64], other: npt.NDArray[np.float64]) -> list[tuple[int, int]]:
    """Pairs (reference row, other row) matched one to one with IoU >= 0.5."""
    if not len(reference) or not len(other):
        return []
    iou = _iou(reference, other)
    rows, cols = linear_sum_assignment(-iou)
    return [(int(r), int(c)) for r, c in zip(rows, cols, strict=True) if iou[r, c] >= 0.5]


@pytest.fixture(scope="module")
def frames(shared_data: Path) -> list[Frame]:
    result = []
    for number in FRAME_NUMBERS:
        image = cv2.imread(str(shared_data / "PETS09-S2L1-300" / "img1" / f"{number:06d}.jpg"))
        assert image is not None
        result.append(Frame(number - 1, (number - 1) / 7.0, np.asarray(image, dtype=np.uint8)))
    return result


@pytest.fixture(scope="module")
def resized(model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[int, int], Path]:
    folder = tmp_path_factory.mktemp("resized")
    models = {}
    for size in ((416, 416), (320, 320), (640, 640), (384, 320)):
        models[size] = folder / f"yolox-{size[0]}x{size[1]}.onnx"
        resize_model(model_path, models[size], *size)
    return models


@pytest.fixture(scope="module")
def baseline(model_path: Path) -> OnnxDetector:
    return OnnxDetector(model_path, threads=2)


def test_patching_416_to_416_gives_identical_outputs(
    resized: dict[tuple[int, int], Path], baseline: OnnxDetector, frames: list[Frame]
) -> None:
    patched = OnnxDetector(resized[416, 416], threads=2)
    for frame in frames:
        tensor, _ = baseline.preprocess(frame)
        assert np.array_equal(patched.infer(tensor), baseline.infer(tensor))


@pytest.mark.parametrize(("size", "min_share"), [((320, 320), 0.8), ((640, 640), 0.9)], ids=["320", "640"])
def test_resized_models_find_the_people_the_416_model_finds(
    size: tuple[int, int],
    min_share: float,
    resized: dict[tuple[int, int], Path],
    baseline: OnnxDetector,
    frames: list[Frame],
) -> None:
    detector = OnnxDetector(resized[size], threads=2)
    assert detector.input_size == size
    found = reference = 0
    for frame in frames:
        ours = detector.detect(frame)
        assert np.all(ours.boxes[:, 2:] > ours.boxes[:, :2])
        assert np.all(ours.boxes <= np.array([768, 576, 768, 576]))
        theirs = baseline.detect(frame)
        wanted = theirs.boxes[theirs.scores >= CONFIDENT].astype(np.float64)
        got = ours.boxes[ours.scores >= CONFIDENT / 2].astype(np.float64)
        found += len(_matched(wanted, got))
        reference += len(wanted)
    assert reference >= 10
    assert found / reference >= min_share


def test_resized_model_has_the_anchors_of_its_size(resized: dict[tuple[int, int], Path]) -> None:
    detector = OnnxDetector(resized[384, 320], threads=2)
    head = detector.infer(np.full((1, 3, 320, 384), 114.0, dtype=np.float32))
    assert head.shape == (anchors_for(384, 320), 85) == (40 * 48 + 20 * 24 + 10 * 12, 85)


@pytest.mark.parametrize(
    ("width", "height"), [(400, 416), (416, 0), (-32, 416)], ids=["not32", "zero", "negative"]
)
def test_sizes_must_be_positive_multiples_of_32(
    model_path: Path, tmp_path: Path, width: int, height: int
) -> None:
    with pytest.raises(ValueError, match="multiple of 32"):
        resize_model(model_path, tmp_path / "out.onnx", width, height)


def test_a_file_that_is_not_a_model_fails_and_leaves_dst_alone(tmp_path: Path) -> None:
    source, target = tmp_path / "broken.onnx", tmp_path / "out.onnx"
    source.write_bytes(b"not a model")
    target.write_bytes(b"previous")
    with pytest.raises(ModelError, match=r"broken\.onnx"):
        resize_model(source, target, 320, 320)
    assert target.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.onnx", "out.onnx"]


def test_crop_boxes_match_full_frame_boxes_for_people_inside_the_crop(
    resized: dict[tuple[int, int], Path], baseline: OnnxDetector, frames: list[Frame]
) -> None:
    # 709 x 432 px into 384 x 320 is the same scale (0.5416) as 768 x 576 into 416 x 416.
    crop = Crop(48 / 768, 72 / 576, 757 / 768, 504 / 576)
    assert crop.pixels(768, 576) == (48, 72, 757, 504)
    cropped = CroppedDetector(OnnxDetector(resized[384, 320], threads=2), crop)
    compared = 0
    for frame in frames:
        full, ours = baseline.detect(frame), cropped.detect(frame)
        assert (ours.width, ours.height, ours.frame_index) == (768, 576, frame.index)
        # Every box lies in the crop, in full-frame pixels.
        assert np.all(ours.boxes[:, :2] >= (48, 72))
        assert np.all(ours.boxes[:, 2:] <= (757, 504))
        inside = (full.boxes[:, :2] >= (48 + 8, 72 + 8)).all(axis=1) & (
            full.boxes[:, 2:] <= (757 - 8, 504 - 8)
        ).all(axis=1)
        wanted = full.boxes[inside & (full.scores >= CONFIDENT)].astype(np.float64)
        got = ours.boxes.astype(np.float64)
        pairs = _matched(wanted, got)
        assert len(pairs) == len(wanted)
        for row, col in pairs:
            assert np.abs(wanted[row] - got[col]).max() <= MAX_SHIFT_PX
        compared += len(pairs)
    assert compared >= 8


def test_cropped_detector_stages_give_what_detect_gives(
    resized: dict[tuple[int, int], Path], frames: list[Frame]
) -> None:
    cropped = CroppedDetector(OnnxDetector(resized[320, 320], threads=2), Crop(0.5, 0.0, 1.0, 0.7))
    tensor, scale = cropped.preprocess(frames[0])
    staged = cropped.postprocess(cropped.infer(tensor), scale, frames[0])
    direct = cropped.detect(frames[0])
    assert np.array_equal(staged.boxes, direct.boxes)
    assert len(direct) > 0
    assert np.all(direct.boxes[:, 0] >= 384.0)
