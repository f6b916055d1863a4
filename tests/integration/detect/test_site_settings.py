"""Detector settings end to end: the auto input (camera aspect at a pixel budget) and explicit sizes
patched once into the cache, the model's own size, crop, bad values refused."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from pydantic import ValidationError

from edge.config import Settings
from edge.detect import OnnxDetector
from edge.detect.crop import CroppedDetector
from edge.detect.resize import model_input_size
from edge.detect.sizing import input_size_for
from edge.pipeline import build_detector
from edge.records import Frame

PROJECT_ROOT = Path(__file__).resolve().parents[3]
FOOTFALL = Path(sys.executable).with_name("footfall")
EXAMPLES = PROJECT_ROOT / "calibration" / "examples"


def settings_for(cache: Path, **detector: object) -> Settings:
    return Settings.model_validate({"cache_dir": str(cache), "detector": detector})


def test_an_input_size_is_patched_once_into_the_cache(
    model_path: Path, tmp_path: Path, shared_data: Path
) -> None:
    detector = build_detector(settings_for(tmp_path, input_size=[416, 320]), model_path)
    assert isinstance(detector, OnnxDetector)
    assert detector.input_size == (416, 320)
    patched = list(tmp_path.glob("yolox_nano-*-416x320.onnx"))
    assert len(patched) == 1
    assert model_input_size(patched[0]) == (416, 320)
    made_at = patched[0].stat().st_mtime_ns
    build_detector(settings_for(tmp_path, input_size=[416, 320]), model_path)
    assert patched[0].stat().st_mtime_ns == made_at  # reused, not rebuilt
    # The model's own size needs no copy.
    assert isinstance(build_detector(settings_for(tmp_path, input_size=[416, 416]), model_path), OnnxDetector)
    assert len(list(tmp_path.glob("*.onnx"))) == 1

    image = np.asarray(
        cv2.imread(str(shared_data / "PETS09-S2L1-300" / "img1" / "000001.jpg")), dtype=np.uint8
    )
    frame = Frame(0, 0.0, image)
    square = OnnxDetector(model_path).detect(frame)
    aspect = detector.detect(frame)
    # Same scale for a 4:3 frame (416 wide): the same confident people.
    assert (aspect.scores >= 0.5).sum() == (square.scores >= 0.5).sum() >= 3


def test_the_auto_input_follows_the_frames_and_is_patched_once(model_path: Path, tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    assert settings.detector.input_size == "auto"
    detector = build_detector(settings, model_path, frame_size=(960, 540))
    assert detector.input_size == (512, 288)
    patched = list(tmp_path.glob("yolox_nano-*-512x288.onnx"))
    assert len(patched) == 1
    made_at = patched[0].stat().st_mtime_ns
    assert build_detector(settings, model_path, frame_size=(1280, 720)).input_size == (512, 288)
    assert patched[0].stat().st_mtime_ns == made_at  # the same 16:9 input: reused, not rebuilt
    # Frames of unknown size, or "model": the model's own square input, no copy.
    assert build_detector(settings, model_path).input_size == (416, 416)
    square = settings_for(tmp_path, input_size="model")
    assert build_detector(square, model_path, frame_size=(960, 540)).input_size == (416, 416)
    # A smaller budget, and a crop: the crop's own shape.
    small = settings_for(tmp_path, pixel_budget=320 * 320)
    assert build_detector(small, model_path, frame_size=(960, 540)).input_size == (416, 224)
    band = settings_for(tmp_path, crop=[0.0, 0.5, 1.0, 1.0])
    cropped = build_detector(band, model_path, frame_size=(960, 540))
    assert isinstance(cropped, CroppedDetector)
    assert cropped.input_size == input_size_for(960, 270) == (768, 224)
    assert len(list(tmp_path.glob("*.onnx"))) == 3


def test_a_crop_wraps_the_detector_and_reports_full_frame_boxes(
    model_path: Path, tmp_path: Path, shared_data: Path
) -> None:
    detector = build_detector(settings_for(tmp_path, crop=[0.0, 0.3, 1.0, 1.0]), model_path)
    assert isinstance(detector, CroppedDetector)
    image = np.asarray(
        cv2.imread(str(shared_data / "PETS09-S2L1-300" / "img1" / "000001.jpg")), dtype=np.uint8
    )
    found = detector.detect(Frame(0, 0.0, image))
    confident = found.boxes[found.scores >= 0.5]
    assert len(confident) >= 1
    assert (confident[:, 3] > 0.3 * image.shape[0]).all()  # bottoms inside the crop, in frame pixels
    assert (confident[:, 2] <= image.shape[1] + 1).all()


@pytest.mark.parametrize(
    "detector",
    [
        {"input_size": [416, 300]},
        {"input_size": [0, 320]},
        {"crop": [0.5, 0.0, 0.4, 1.0]},
        {"crop": [0, 0, 1, 1.2]},
        {"input_size": "square"},
        {"pixel_budget": 32 * 32 - 1},
    ],
    ids=[
        "not-multiple-of-32",
        "zero",
        "left-after-right",
        "beyond-frame",
        "unknown-word",
        "budget-below-a-cell",
    ],
)
def test_bad_detector_settings_are_refused(detector: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Settings.model_validate({"detector": detector})


def test_site_plan_suggests_a_crop_where_the_lines_leave_room(model_cache: Path, shared_data: Path) -> None:
    environment = {**os.environ, "FOOTFALL_CACHE_DIR": str(model_cache), "CI": "true"}
    done = subprocess.run(
        [str(FOOTFALL), "site", "plan", str(shared_data / "PETS09-S3-MF1"), "--fps", "7", "--frames", "12",
         "--every", "1", "--calibration", str(EXAMPLES / "pets09-s3-mf1.json")],
        check=False, capture_output=True, text=True, env=environment, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "input_size = [" in done.stdout
    assert "crop = [" in done.stdout  # the line sits in the middle band of the frame
    settings = Settings.model_validate(
        {"detector": {"input_size": _values(done.stdout, "input_size"), "crop": _values(done.stdout, "crop")}}
    )
    assert settings.detector.crop is not None
    assert settings.detector.crop[1] > 0.0 or settings.detector.crop[3] < 1.0


def _values(text: str, key: str) -> list[float]:
    line = next(line for line in text.splitlines() if line.startswith(f"{key} = "))
    return [float(value) for value in line.split("[")[1].rstrip("]").split(",")]
