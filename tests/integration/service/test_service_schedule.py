"""The service's adaptive schedule: an empty, still scene is checked once a second, not on every frame."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from edge.assets import fetch, find_asset
from edge.calibration_store import CalibrationStore
from edge.config import ScheduleSettings
from edge.service import Service
from edge.sources import open_source
from tests.conftest import SHARED_MIRROR
from tests.integration.service.test_service_watchdog import (
    FRAMES_BEFORE_STALL,
    StuckCamera,
    _settings,
    running,
)

PROJECT_ROOT = Path(__file__).resolve().parents[3]


def empty_room(model_cache: Path) -> np.ndarray:
    """The demo clip's first frame: the room before anyone comes in."""
    clip = fetch(find_asset("demo-clip"), cache_dir=model_cache, mirror=SHARED_MIRROR)
    with open_source(str(clip)) as source:
        return next(iter(source)).image.copy()


@pytest.mark.parametrize("adaptive", [True, False], ids=["adaptive", "every-frame"])
def test_a_still_empty_scene_needs_few_detections(
    tmp_path: Path, model_cache: Path, model_path: Path, adaptive: bool
) -> None:
    calibration = tmp_path / "calibration.json"
    shutil.copyfile(PROJECT_ROOT / "calibration" / "examples" / "demo.json", calibration)
    settings = _settings(tmp_path, calibration).model_copy(
        update={"schedule": ScheduleSettings(adaptive=adaptive)}
    )
    camera = StuckCamera([empty_room(model_cache)])
    service = Service(
        settings, source=camera, model_file=model_path, calibration=CalibrationStore(calibration)
    )
    with running(service):
        assert camera.stalled.wait(30)
        status = service.status()
    assert service.figures.frames == FRAMES_BEFORE_STALL  # every frame went through the loop
    assert status.detected_share is not None
    if adaptive:
        # 2.5 s of a still scene: the first frame, then one idle check a second (EMA-smoothed share).
        assert status.detected_share < 0.3, status.detected_share
    else:
        assert status.detected_share == pytest.approx(1.0)
    assert status.detector_ms is not None
