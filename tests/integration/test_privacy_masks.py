"""Privacy masks on real frames: a person inside a mask is neither detected nor counted."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from edge.calibration import parse_calibration
from edge.config import Settings
from edge.detect import OnnxDetector
from edge.pipeline import build_pipeline, count_source
from edge.privacy.masks import MaskPainter
from edge.records import Frame, PrivacyMaskSpec
from edge.sources import open_source

# A person in PETS09-S2L1 frame 1 (gt id 19): left, top, right, bottom in pixels of 768 x 576.
PERSON = (633.0, 242.0, 675.0, 323.0)
# The vertical counting line of the truth table is x = 0.5; this band hides everyone on it.
BAND = ((0.4, 0.0), (0.6, 0.0), (0.6, 1.0), (0.4, 1.0))


def _overlaps(box: npt.NDArray[np.float32], other: tuple[float, float, float, float]) -> bool:
    return bool(box[0] < other[2] and other[0] < box[2] and box[1] < other[3] and other[1] < box[3])


def test_a_masked_person_is_not_detected_and_the_others_still_are(
    model_path: Path, shared_data: Path
) -> None:
    image = np.asarray(
        cv2.imread(str(shared_data / "PETS09-S2L1-300" / "img1" / "000001.jpg")), dtype=np.uint8
    )
    original = image.copy()
    detector = OnnxDetector(model_path)
    plain = detector.detect(Frame(0, 0.0, image))
    assert any(_overlaps(box, PERSON) for box in plain.boxes[plain.scores >= 0.5])
    left, top, right, bottom = 620 / 768, 230 / 576, 690 / 768, 335 / 576
    painter = MaskPainter(
        [PrivacyMaskSpec("garden", ((left, top), (right, top), (right, bottom), (left, bottom)))]
    )
    masked = painter.apply(image)
    assert masked is not image  # the camera's frame itself is never changed
    assert np.array_equal(image, original)
    found = detector.detect(Frame(0, 0.0, masked))
    assert not any(_overlaps(box, PERSON) for box in found.boxes[found.scores >= 0.3])
    others = [box for box in plain.boxes[plain.scores >= 0.5] if not _overlaps(box, PERSON)]
    assert len(others) >= 2
    assert all(any(_overlaps(box, other) for box in found.boxes[found.scores >= 0.5]) for other in others)


def test_nobody_walking_through_a_mask_is_counted(
    model_path: Path, model_cache: Path, shared_data: Path
) -> None:
    document = json.loads(
        (Path(__file__).resolve().parents[2] / "calibration/examples/pets09-s2l1.json").read_text()
    )
    document["masks"] = [{"id": "band", "polygon": [list(point) for point in BAND]}]
    masked = parse_calibration(json.dumps(document), source="masked")
    plain = parse_calibration(
        json.dumps({key: document[key] for key in ("lines", "zones") if key in document}), source="plain"
    )
    settings = Settings(cache_dir=model_cache)
    runs = {}
    for name, calibration in (("plain", plain), ("masked", masked)):
        with open_source(str(shared_data / "PETS09-S2L1-300")) as source:
            runs[name] = count_source(
                source, build_pipeline(settings, calibration, model_path), calibration
            ).summary
    vertical_plain, vertical_masked = runs["plain"].line("vertical"), runs["masked"].line("vertical")
    assert vertical_plain.in_count + vertical_plain.out_count >= 7  # truth 7 in, 2 out
    assert (vertical_masked.in_count, vertical_masked.out_count) == (0, 0)
    # Outside the band people are still counted on the other line.
    horizontal = runs["masked"].line("horizontal")
    assert horizontal.in_count + horizontal.out_count >= 3
