"""Letterbox and YOLOX decoding on hand-made inputs with known answers."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from edge.detect.letterbox import PAD_VALUE, Letterbox
from edge.detect.yolox import YoloxDecoder, make_grid
from edge.errors import ModelError


def test_grid_has_one_anchor_per_cell_of_each_stride() -> None:
    cells, strides = make_grid(416, 416)
    assert cells.shape == (52 * 52 + 26 * 26 + 13 * 13, 2) == (3549, 2)
    assert strides[0, 0] == 8
    assert strides[-1, 0] == 32
    assert tuple(cells[53]) == (1.0, 1.0)  # row-major: anchor 53 is cell (x=1, y=1) of stride 8


@pytest.mark.parametrize(
    ("height", "width", "scale", "content_shape"),
    [
        pytest.param(576, 768, 416 / 768, (312, 416), id="landscape"),
        pytest.param(768, 576, 416 / 768, (416, 312), id="portrait"),
        pytest.param(416, 416, 1.0, (416, 416), id="exact"),
        pytest.param(100, 200, 416 / 200, (208, 416), id="upscale"),
    ],
)
def test_letterbox_keeps_aspect_and_pads_bottom_right(
    height: int, width: int, scale: float, content_shape: tuple[int, int]
) -> None:
    image = np.full((height, width, 3), 7, dtype=np.uint8)
    tensor, got_scale = Letterbox(416, 416)(image)
    assert got_scale == pytest.approx(scale)
    assert tensor.shape == (1, 3, 416, 416)
    assert tensor.dtype == np.float32
    rows, cols = content_shape
    assert np.all(tensor[0, :, :rows, :cols] == 7.0)
    assert np.all(tensor[0, :, rows:, :] == PAD_VALUE)
    assert np.all(tensor[0, :, :, cols:] == PAD_VALUE)


def test_letterbox_repaints_padding_when_the_source_size_changes() -> None:
    letterbox = Letterbox(416, 416)
    letterbox(np.zeros((416, 416, 3), dtype=np.uint8))
    tensor, _ = letterbox(np.zeros((208, 416, 3), dtype=np.uint8))
    assert np.all(tensor[0, :, 208:, :] == PAD_VALUE)


def test_letterbox_keeps_channel_order() -> None:
    image = np.zeros((416, 416, 3), dtype=np.uint8)
    image[..., 0], image[..., 1], image[..., 2] = 10, 20, 30  # B, G, R
    tensor, _ = Letterbox(416, 416)(image)
    assert [float(tensor[0, channel, 0, 0]) for channel in range(3)] == [10.0, 20.0, 30.0]


def _head_with(
    anchor: int, raw_box: tuple[float, float, float, float], objectness: float, person: float
) -> npt.NDArray[np.float32]:
    head = np.zeros((3549, 85), dtype=np.float32)
    head[anchor, :4] = raw_box
    head[anchor, 4] = objectness
    head[anchor, 5] = person
    return head


def test_decoding_places_the_box_in_source_pixels() -> None:
    decoder = YoloxDecoder(416, 416, score_threshold=0.1, nms_iou=0.45)
    # Anchor 53: stride 8, cell (1, 1). Centre (1 + 0.5) * 8 = 12; size exp(log 4) * 8 = 32.
    head = _head_with(53, (0.5, 0.5, np.log(4.0), np.log(4.0)), objectness=0.9, person=0.8)
    boxes, scores = decoder(head, scale=0.5, width=1000, height=1000)
    assert scores.tolist() == pytest.approx([0.72])
    # Input pixels / scale 0.5 = source pixels: centre 24, half size 32.
    assert boxes.tolist() == [pytest.approx([-8.0 + 8.0, 24.0 - 32.0 + 32.0 - 24.0, 56.0, 56.0])]


def test_only_people_above_the_threshold_are_kept() -> None:
    decoder = YoloxDecoder(416, 416, score_threshold=0.5, nms_iou=0.45)
    head = _head_with(100, (0.0, 0.0, 1.0, 1.0), objectness=0.9, person=0.5)  # 0.45 < 0.5
    head[200, 4], head[200, 6] = 0.99, 0.99  # a confident non-person (class 1)
    boxes, scores = decoder(head, scale=1.0, width=416, height=416)
    assert boxes.shape == (0, 4)
    assert scores.shape == (0,)


def test_overlapping_boxes_are_merged_and_distinct_ones_kept() -> None:
    decoder = YoloxDecoder(416, 416, score_threshold=0.1, nms_iou=0.45)
    head = _head_with(60, (0.0, 0.0, 1.5, 2.0), objectness=0.9, person=0.9)
    head[61] = head[60]
    head[61, :2] = (0.1, 0.0)  # almost the same box, shifted 0.8 px
    head[61, 4] = 0.8
    head[2000, :5] = (0.0, 0.0, 1.0, 1.0, 0.7)
    head[2000, 5] = 0.9
    boxes, scores = decoder(head, scale=1.0, width=416, height=416)
    assert len(boxes) == 2
    assert scores.tolist() == pytest.approx([0.81, 0.63])


def test_an_unexpected_output_shape_is_a_model_error() -> None:
    decoder = YoloxDecoder(416, 416, score_threshold=0.1, nms_iou=0.45)
    with pytest.raises(ModelError, match="unexpected YOLOX output shape"):
        decoder(np.zeros((100, 85), dtype=np.float32), scale=1.0, width=416, height=416)


@pytest.mark.parametrize(
    ("score_threshold", "nms_iou", "argument"),
    [
        pytest.param(0.0, 0.45, "score_threshold", id="zero-score"),
        pytest.param(1.0, 0.45, "score_threshold", id="one-score"),
        pytest.param(0.1, 0.0, "nms_iou", id="zero-iou"),
    ],
)
def test_bad_decoder_arguments_are_named(score_threshold: float, nms_iou: float, argument: str) -> None:
    with pytest.raises(ValueError, match=argument):
        YoloxDecoder(416, 416, score_threshold=score_threshold, nms_iou=nms_iou)
