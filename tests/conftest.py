"""Shared fixtures: paths to the read-only shared data and the real model fetched from the mirror."""

from __future__ import annotations

from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED = PROJECT_ROOT.parent / "shared"
SHARED_DATA = SHARED / "data"
SHARED_MIRROR = SHARED / "mirror"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Real pedestrian clips and ground truth (read only, never copied into the project)."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache folder holding the default model, fetched from the local mirror like CI does."""
    from edge.assets import fetch, find_asset

    cache_dir = tmp_path_factory.mktemp("model-cache")
    fetch(find_asset("yolox_nano"), cache_dir=cache_dir, mirror=SHARED_MIRROR)
    return cache_dir


@pytest.fixture(scope="session")
def model_path(model_cache: Path) -> Path:
    """Path of the real YOLOX-Nano model, verified against its manifest digest."""
    return model_cache / "yolox_nano.onnx"
