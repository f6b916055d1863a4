"""`anonymise` and `encode_jpeg` on synthetic images: block geometry, clipping, argument checks."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edge.privacy import anonymise, encode_jpeg
from edge.records import FloatArray, ImageArray


def _noise(height: int = 240, width: int = 320) -> ImageArray:
    return np.random.default_rng(7).integers(0, 256, (height, width, 3), dtype=np.uint8)


def _boxes(*rows: tuple[float, float, float, float]) -> FloatArray:
    return np.array(rows, dtype=np.float32).reshape(-1, 4)


def test_a_box_becomes_a_few_flat_blocks_and_nothing_else_changes() -> None:
    image = _noise()
    # 96 px tall, no margin, 4 blocks along the height: 24 px blocks from (100, 40).
    result = anonymise(image, _boxes((100, 40, 148, 136)), margin=0.0, blocks_along_height=4)
    region = result[40:136, 100:148]
    assert len(np.unique(region.reshape(-1, 3), axis=0)) <= 4 * 2
    np.testing.assert_array_equal(region[:24, :24], np.broadcast_to(region[0, 0], (24, 24, 3)))
    outside = np.ones(image.shape[:2], dtype=bool)
    outside[40:136, 100:148] = False
    np.testing.assert_array_equal(result[outside], image[outside])


def test_the_margin_widens_the_pixelated_area() -> None:
    image = _noise()
    tight = anonymise(image, _boxes((100, 100, 140, 180)), margin=0.0)
    wide = anonymise(image, _boxes((100, 100, 140, 180)), margin=0.25)
    changed_tight = np.any(tight != image, axis=2).sum()
    changed_wide = np.any(wide != image, axis=2).sum()
    assert changed_wide > changed_tight
    assert np.any(wide[80:100, 100:140] != image[80:100, 100:140])  # above the box: the head's margin


def test_boxes_partly_outside_are_clipped_and_boxes_fully_outside_ignored() -> None:
    image = _noise()
    result = anonymise(image, _boxes((-50, -50, 30, 60), (400, 300, 500, 400)))
    assert result.shape == image.shape
    assert np.any(result[:60, :30] != image[:60, :30])
    np.testing.assert_array_equal(result[120:, 120:], image[120:, 120:])


def test_no_boxes_gives_an_equal_copy_never_the_same_array() -> None:
    image = _noise()
    result = anonymise(image, _boxes())
    np.testing.assert_array_equal(result, image)
    assert result is not image
    assert not np.shares_memory(result, image)


def test_small_far_people_get_the_minimum_block_size() -> None:
    image = _noise()
    result = anonymise(image, _boxes((10, 10, 14, 22)), margin=0.0, min_block_px=8)
    # 12 x 4 px at 8 px blocks: ceil(12 / 8) x ceil(4 / 8) = 2 x 1 cells, so at most 2 colours.
    region = result[10:22, 10:14]
    assert len(np.unique(region.reshape(-1, 3), axis=0)) <= 2


@pytest.mark.parametrize(
    ("image", "boxes", "options", "message"),
    [
        pytest.param(np.zeros((10, 10), np.uint8), _boxes(), {}, "image", id="grey-image"),
        pytest.param(np.zeros((10, 10, 3), np.float32), _boxes(), {}, "image", id="float-image"),
        pytest.param(np.zeros((10, 10, 3), np.uint8), np.zeros((2, 3), np.float32), {}, "boxes", id="n-by-3"),
        pytest.param(np.zeros((10, 10, 3), np.uint8), _boxes((0, 0, np.nan, 5)), {}, "finite", id="nan-box"),
        pytest.param(
            np.zeros((10, 10, 3), np.uint8), _boxes(), {"margin": -0.1}, "margin", id="negative-margin"
        ),
        pytest.param(
            np.zeros((10, 10, 3), np.uint8), _boxes(), {"blocks_along_height": 0}, "blocks", id="zero-blocks"
        ),
        pytest.param(
            np.zeros((10, 10, 3), np.uint8), _boxes(), {"min_block_px": 0}, "min_block", id="zero-px"
        ),
    ],
)
def test_bad_arguments_are_refused_naming_them(
    image: ImageArray, boxes: FloatArray, options: dict[str, float], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        anonymise(image, boxes, **options)  # type: ignore[arg-type]


def test_jpeg_bytes_decode_to_the_image_size() -> None:
    image = _noise(48, 64)
    encoded = encode_jpeg(image, quality=90)
    assert encoded[:2] == b"\xff\xd8"
    decoded = cv2.imdecode(np.frombuffer(encoded, np.uint8), cv2.IMREAD_COLOR)
    assert decoded is not None
    assert decoded.shape == image.shape


@pytest.mark.parametrize(
    ("image", "quality"),
    [
        pytest.param(np.zeros((0, 0, 3), np.uint8), 80, id="empty"),
        pytest.param(np.zeros((4, 4, 3), np.uint8), 0, id="quality-0"),
        pytest.param(np.zeros((4, 4, 3), np.uint8), 101, id="quality-101"),
    ],
)
def test_jpeg_refuses_bad_input(image: ImageArray, quality: int) -> None:
    with pytest.raises(ValueError, match=r"image|quality"):
        encode_jpeg(image, quality=quality)


def test_outside_the_searched_rectangle_only_coarse_blocks_remain() -> None:
    image = _noise(240, 480)
    result = anonymise(image, _boxes(), searched=(100, 60, 300, 200))
    np.testing.assert_array_equal(result[60:200, 100:300], image[60:200, 100:300])
    block = 480 // 24  # UNSEARCHED_BLOCKS along the longer side: 20 px
    corner = result[:block, :block]
    np.testing.assert_array_equal(corner, np.broadcast_to(corner[0, 0], corner.shape))
    outside = np.ones(image.shape[:2], dtype=bool)
    outside[60:200, 100:300] = False
    assert not (result[outside] == image[outside]).all(axis=1).any(), "an outside pixel kept its colour"


@pytest.mark.parametrize("searched", [(0, 0, 0, 0), (500, 300, 600, 400)], ids=["empty", "off-image"])
def test_a_searched_rectangle_with_nothing_inside_coarsens_the_whole_image(
    searched: tuple[int, int, int, int],
) -> None:
    image = _noise(240, 480)
    result = anonymise(image, _boxes(), searched=searched)
    assert len(np.unique(result.reshape(-1, 3), axis=0)) <= 24 * 12
