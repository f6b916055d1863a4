"""frame_brightness: BT.601 mean luma from a subsample, checked against OpenCV on real frames."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.aggregate import frame_brightness
from edge.records import ImageArray

FRAMES = [
    "PETS09-S2L1-300/img1/000001.jpg",
    "TUD-Campus/img1/000001.jpg",
]


def _solid(bgr: tuple[int, int, int], height: int = 48, width: int = 64) -> ImageArray:
    return np.full((height, width, 3), bgr, dtype=np.uint8)


@pytest.mark.parametrize(
    ("bgr", "luma"),
    [
        pytest.param((0, 0, 0), 0.0, id="black"),
        pytest.param((255, 255, 255), 255.0, id="white"),
        pytest.param((128, 128, 128), 128.0, id="grey"),
        pytest.param((255, 0, 0), 0.114 * 255, id="blue"),
        pytest.param((0, 255, 0), 0.587 * 255, id="green"),
        pytest.param((0, 0, 255), 0.299 * 255, id="red"),
    ],
)
def test_solid_colours_give_bt601_luma(bgr: tuple[int, int, int], luma: float) -> None:
    assert frame_brightness(_solid(bgr)) == pytest.approx(luma)


@pytest.mark.parametrize("name", FRAMES, ids=[name.split("/")[0] for name in FRAMES])
@pytest.mark.parametrize("gain", [1.0, 0.15], ids=["as-recorded", "darkened"])
def test_subsample_matches_opencv_gray_mean_of_the_whole_frame(
    shared_data: Path, name: str, gain: float
) -> None:
    image = cv2.imread(str(shared_data / name), cv2.IMREAD_COLOR)
    assert image is not None
    image = np.clip(image.astype(np.float32) * gain, 0, 255).astype(np.uint8)
    reference = float(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).mean())
    # 1/64 of the pixels: within 2 % on these clips (TUD-Campus' fine texture is the worst, ~1.7 %).
    assert frame_brightness(image) == pytest.approx(reference, rel=0.02)


def test_tiny_frames_still_have_a_brightness() -> None:
    image = _solid((10, 20, 30), height=3, width=5)
    assert frame_brightness(image) == pytest.approx(0.114 * 10 + 0.587 * 20 + 0.299 * 30)


@pytest.mark.parametrize(
    "image",
    [
        pytest.param(np.zeros((48, 64), dtype=np.uint8), id="grey-2d"),
        pytest.param(np.zeros((48, 64, 4), dtype=np.uint8), id="four-channels"),
        pytest.param(np.zeros((48, 64, 3), dtype=np.float32), id="float"),
        pytest.param(np.zeros((0, 64, 3), dtype=np.uint8), id="empty"),
    ],
)
def test_rejects_what_is_not_a_bgr_frame(image: ImageArray) -> None:
    with pytest.raises(ValueError, match="image must be"):
        frame_brightness(image)
