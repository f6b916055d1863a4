"""Snapshot anonymisation on real frames: the real detector finds people before and nobody after.

What the API serves is the JPEG, so the anonymised frame is encoded and decoded again before the
second detection, exactly as a viewer (or anyone trying to re-identify) would receive it.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from edge.detect import OnnxDetector
from edge.privacy import anonymise, encode_jpeg
from edge.privacy.snapshot import DEFAULT_MARGIN
from edge.records import Frame, ImageArray

# Enough people, sizes and poses, far and near, still a fast test: 10 frames of two scenes.
FRAMES = [
    *(Path("PETS09-S2L1-300") / "img1" / f"{number:06d}.jpg" for number in range(1, 301, 60)),
    *(Path("TUD-Campus") / "img1" / f"{number:06d}.jpg" for number in range(1, 72, 15)),
]
# A detection at least this confident counts as "a person is still recognisable".
PERSON_SCORE = 0.3


def _read(path: Path) -> ImageArray:
    image = cv2.imread(str(path))
    assert image is not None, path
    return np.asarray(image, dtype=np.uint8)


def _centres_inside(found: npt.NDArray[np.float32], boxes: npt.NDArray[np.float32]) -> npt.NDArray[np.bool_]:
    """For each found box, whether its centre lies inside any of `boxes`."""
    centres = (found[:, :2] + found[:, 2:]) / 2.0
    inside = (
        (centres[:, None, 0] >= boxes[None, :, 0])
        & (centres[:, None, 0] <= boxes[None, :, 2])
        & (centres[:, None, 1] >= boxes[None, :, 1])
        & (centres[:, None, 1] <= boxes[None, :, 3])
    )
    result: npt.NDArray[np.bool_] = np.asarray(inside.any(axis=1), dtype=np.bool_)
    return result


@pytest.fixture(scope="module")
def detector(model_path: Path) -> OnnxDetector:
    return OnnxDetector(model_path, threads=2)


@pytest.mark.parametrize("relative", FRAMES, ids=[str(path) for path in FRAMES])
def test_nobody_the_detector_found_is_found_again_in_the_served_snapshot(
    detector: OnnxDetector, shared_data: Path, relative: Path
) -> None:
    image = _read(shared_data / relative)
    original = image.copy()
    raw = detector.detect(Frame(0, 0.0, image))
    people = raw.boxes[raw.scores >= PERSON_SCORE]
    assert len(people) >= 1, "the frame must show someone for the test to mean anything"

    served = encode_jpeg(anonymise(image, raw.boxes))
    decoded = np.asarray(cv2.imdecode(np.frombuffer(served, np.uint8), cv2.IMREAD_COLOR), dtype=np.uint8)
    again = detector.detect(Frame(0, 0.0, decoded))

    confident = again.boxes[again.scores >= PERSON_SCORE]
    recognised = _centres_inside(confident, people) if len(confident) else np.zeros(0, dtype=np.bool_)
    assert not recognised.any(), f"still detected: {confident[recognised]} scores {again.scores}"
    np.testing.assert_array_equal(image, original)  # the caller's frame is left as it was


def test_the_scene_outside_the_people_stays_sharp_for_calibration(
    detector: OnnxDetector, shared_data: Path
) -> None:
    image = _read(shared_data / FRAMES[0])
    found = detector.detect(Frame(0, 0.0, image))
    anonymised = anonymise(image, found.boxes)
    untouched = np.ones(image.shape[:2], dtype=bool)
    for left, top, right, bottom in found.boxes.astype(np.float64):
        grow_x, grow_y = (right - left) * DEFAULT_MARGIN, (bottom - top) * DEFAULT_MARGIN
        untouched[
            max(0, int(top - grow_y) - 1) : int(bottom + grow_y) + 2,
            max(0, int(left - grow_x) - 1) : int(right + grow_x) + 2,
        ] = False
    assert untouched.mean() > 0.8  # most of the frame is background in PETS09
    np.testing.assert_array_equal(anonymised[untouched], image[untouched])
    changed = np.any(anonymised != image, axis=2)
    assert changed.sum() > 0
