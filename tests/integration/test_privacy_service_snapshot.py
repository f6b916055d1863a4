"""Privacy audit of the served snapshot, for every combination that changes what the detector sees.

The snapshot is the one picture of the street that leaves the service (to an authenticated
technician). A person is pixelated only where the detector found one, so whatever narrows what the
detector looks at could leave someone untouched: a region-of-interest crop (people outside it are
never searched), privacy masks, a smaller input size, the adaptive schedule (the snapshot is the
last detected frame). This test runs the real service on the busy shopping street ADL-Rundle-6
(many people across the whole frame, ground-truth boxes for all of them) under pairwise
combinations of the four settings and checks the snapshot two ways:
- the head of every person in the ground truth taller than `IDENTIFIABLE_HEIGHT` of the frame
  is altered (no 16 x 16 JPEG cell of it decodes as in the untouched frame);
- the real detector (default input) finds nobody in the served JPEG.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from edge.calibration_store import CalibrationStore
from edge.config import DetectorSettings, ScheduleSettings
from edge.detect import OnnxDetector
from edge.privacy import encode_jpeg
from edge.records import Frame, ImageArray
from edge.service import Service
from tests.integration.service.test_service_watchdog import StuckCamera, _settings, running

CLIP = Path("ADL-Rundle-6")
# Ten frames a third of a second apart: people move, the adaptive schedule skips some of them.
FRAME_NUMBERS = list(range(1, 300, 30))
IDENTIFIABLE_HEIGHT = 0.15
"""People at least this fraction of the frame height tall (81 px at 540) must have their head altered."""
PERSON_SCORE = 0.3
CELL = 16  # JPEG minimum coded unit with 4:2:0 chroma: an untouched cell decodes identically.
# A band around the street's lines, as `footfall site plan` would suggest: people stand outside it.
CROP = (0.15, 0.45, 0.95, 1.0)
MASK = [[0.0, 0.0], [0.25, 0.0], [0.25, 0.6], [0.0, 0.6]]

# (crop, mask, input size, adaptive schedule): every pair of values appears in some case.
CASES: list[tuple[bool, bool, Any, bool]] = [
    (True, False, "auto", True),
    (True, True, "model", False),
    (False, True, "auto", True),
    (False, False, "model", False),
    (True, True, (320, 192), True),
    (False, False, (320, 192), False),
    (True, False, "model", True),
    (False, True, "auto", False),
]


def _case_id(case: tuple[bool, bool, Any, bool]) -> str:
    crop, mask, size, adaptive = case
    size_name = "x".join(map(str, size)) if isinstance(size, tuple) else size
    return "-".join(
        [
            "crop" if crop else "full",
            "mask" if mask else "nomask",
            size_name,
            "adaptive" if adaptive else "every",
        ]
    )


@pytest.fixture(scope="module")
def street(shared_data: Path) -> tuple[list[ImageArray], dict[int, npt.NDArray[np.float64]]]:
    """The frames of `FRAME_NUMBERS` and the ground-truth boxes (l, t, r, b) of each."""
    capture = cv2.VideoCapture(str(shared_data / CLIP / f"{CLIP}.avi"))
    images: list[ImageArray] = []
    number = 0
    while len(images) < len(FRAME_NUMBERS):
        ok, image = capture.read()
        assert ok, "ADL-Rundle-6 ended early"
        number += 1
        if number in FRAME_NUMBERS:
            images.append(np.asarray(image, dtype=np.uint8))
    capture.release()
    rows = np.loadtxt(shared_data / CLIP / "gt" / "gt.txt", delimiter=",")
    truth = {}
    for position, frame_number in enumerate(FRAME_NUMBERS):
        boxes = rows[rows[:, 0] == frame_number][:, 2:6].copy()
        boxes[:, 2:] += boxes[:, :2]
        truth[position] = boxes
    return images, truth


@pytest.fixture(scope="module")
def judge(model_path: Path) -> OnnxDetector:
    return OnnxDetector(model_path, threads=2)


def _calibration(folder: Path, shared_data: Path, mask: bool) -> Path:
    lines = json.loads((shared_data / CLIP / "lines.json").read_text())
    document: dict[str, Any] = {"image_size": [960, 540], "lines": lines}
    if mask:
        document["masks"] = [{"id": "shop-window", "polygon": MASK}]
    path = folder / "calibration.json"
    path.write_text(json.dumps(document))
    return path


def _untouched_head_cells(original: ImageArray, served: ImageArray, box: npt.NDArray[np.float64]) -> int:
    """JPEG cells fully inside the head (top quarter of the box) that decode exactly as untouched."""
    reference = np.asarray(
        cv2.imdecode(np.frombuffer(encode_jpeg(original), np.uint8), cv2.IMREAD_COLOR), dtype=np.uint8
    )
    left, top, right, bottom = box
    head_bottom = top + (bottom - top) / 4
    untouched = 0
    for y in range(int(np.ceil(max(0, top) / CELL)) * CELL, int(head_bottom) - CELL + 1, CELL):
        for x in range(int(np.ceil(max(0, left) / CELL)) * CELL, int(min(right, 960)) - CELL + 1, CELL):
            if np.array_equal(served[y : y + CELL, x : x + CELL], reference[y : y + CELL, x : x + CELL]):
                untouched += 1
    return untouched


@pytest.mark.parametrize("case", CASES, ids=[_case_id(case) for case in CASES])
def test_nobody_is_recognisable_in_the_snapshot_whatever_the_detector_was_told_to_look_at(
    tmp_path: Path,
    model_path: Path,
    shared_data: Path,
    street: tuple[list[ImageArray], dict[int, npt.NDArray[np.float64]]],
    judge: OnnxDetector,
    case: tuple[bool, bool, Any, bool],
) -> None:
    crop, mask, input_size, adaptive = case
    images, truth = street
    settings = _settings(tmp_path, _calibration(tmp_path, shared_data, mask)).model_copy(
        update={
            "detector": DetectorSettings(input_size=input_size, crop=CROP if crop else None),
            "schedule": ScheduleSettings(adaptive=adaptive),
        }
    )
    camera = StuckCamera(images)
    service = Service(
        settings, source=camera, model_file=model_path, calibration=CalibrationStore(settings.calibration)
    )
    with running(service):
        assert camera.stalled.wait(60)
        jpeg = service.snapshot_jpeg()
        latest = service.figures.latest_frame
    assert jpeg is not None
    assert latest is not None
    position = latest.index % len(images)
    served = np.asarray(cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR), dtype=np.uint8)
    original = images[position]

    people = [box for box in truth[position] if box[3] - box[1] >= IDENTIFIABLE_HEIGHT * original.shape[0]]
    assert len(people) >= 3, "the frame must show identifiable people for the test to mean anything"
    exposed = {
        tuple(np.round(box).astype(int)): cells
        for box in people
        if (cells := _untouched_head_cells(original, served, box))
    }
    assert exposed == {}, f"heads left untouched (box: cells): {exposed}"

    found = judge.detect(Frame(0, 0.0, served))
    assert not (found.scores >= PERSON_SCORE).any(), (
        f"recognisable: {found.boxes[found.scores >= PERSON_SCORE]}"
    )
