"""`footfall models quantize`: an INT8 detector calibrated on a source's frames, usable at once."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from edge.assets import fetch, find_asset
from edge.detect import OnnxDetector
from edge.sources import open_source
from tests.conftest import SHARED_MIRROR

FOOTFALL = Path(sys.executable).with_name("footfall")


def footfall(*args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "FOOTFALL_CACHE_DIR": str(cache), "CI": "true"}
    return subprocess.run(
        [str(FOOTFALL), *args], check=False, capture_output=True, text=True, env=environment, timeout=240
    )


def test_quantize_on_a_clip_gives_a_model_that_finds_the_same_people(
    model_cache: Path, tmp_path: Path
) -> None:
    clip = fetch(find_asset("demo-clip"), cache_dir=model_cache, mirror=SHARED_MIRROR)
    out = tmp_path / "int8.onnx"
    done = footfall(
        "models",
        "quantize",
        "--source",
        str(clip),
        "--frames",
        "8",
        "--every",
        "10",
        "--out",
        str(out),
        cache=model_cache,
    )
    assert done.returncode == 0, done.stderr
    assert "INT8 from 8 frames" in done.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o644  # readable by the service's own user
    fp32 = OnnxDetector(model_cache / "yolox_nano.onnx")
    int8 = OnnxDetector(out)
    with open_source(str(clip)) as source:
        frames = [frame for frame in source if frame.index % 97 == 50][:6]  # not the calibration frames
    found = [(fp32.detect(frame), int8.detect(frame)) for frame in frames]
    people = sum(int((reference.scores >= 0.5).sum()) for reference, _ in found)
    assert people >= 3
    for reference, candidate in found:
        assert int((candidate.scores >= 0.5).sum()) == int((reference.scores >= 0.5).sum())


def test_quantize_refuses_a_missing_source_and_writes_nothing(model_cache: Path, tmp_path: Path) -> None:
    out = tmp_path / "int8.onnx"
    done = footfall(
        "models", "quantize", "--source", str(tmp_path / "nope.mp4"), "--out", str(out), cache=model_cache
    )
    assert done.returncode == 1
    assert done.stderr.startswith("footfall: error:")
    assert "Traceback" not in done.stderr
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []
