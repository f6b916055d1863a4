"""CalibrationStore: live replacement, history of earlier versions (bounded), listeners, write failures."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from edge.calibration import Calibration, load_calibration
from edge.calibration_store import HISTORY_VERSIONS, CalibrationStore
from edge.errors import ConfigError

EXAMPLES = Path(__file__).resolve().parents[2] / "calibration" / "examples"


def _store(tmp_path: Path) -> tuple[CalibrationStore, list[datetime]]:
    path = tmp_path / "calibration.json"
    shutil.copyfile(EXAMPLES / "pets09-s2l1.json", path)
    moments = [datetime(2026, 11, 21, 12, 0, tzinfo=UTC)]

    def clock() -> datetime:
        moments[0] += timedelta(seconds=1)
        return moments[0]

    return CalibrationStore(path, clock=clock), moments


def test_apply_replaces_the_file_keeps_the_old_one_and_tells_listeners(tmp_path: Path) -> None:
    store, _ = _store(tmp_path)
    heard: list[Calibration] = []
    store.subscribe(heard.append)
    before = store.path.read_text()
    replacement = load_calibration(EXAMPLES / "tud-campus.json")
    store.apply(replacement)
    assert store.current() == replacement
    assert heard == [replacement]
    assert load_calibration(store.path) == replacement
    current, earlier = store.history()
    assert current.saved_at is None
    assert earlier.saved_at == datetime(2026, 11, 21, 12, 0, 1, tzinfo=UTC)
    assert earlier.path.read_text() == before


def test_history_is_bounded(tmp_path: Path) -> None:
    store, _ = _store(tmp_path)
    calibrations = [load_calibration(EXAMPLES / name) for name in ("tud-campus.json", "pets09-s3-mf1.json")]
    for number in range(HISTORY_VERSIONS + 5):
        store.apply(calibrations[number % 2])
    assert len(list(store.history_dir.glob("*.json"))) == HISTORY_VERSIONS
    assert len(store.history()) == HISTORY_VERSIONS + 1


def test_a_failed_write_keeps_the_calibration_in_force(tmp_path: Path) -> None:
    store, _ = _store(tmp_path)
    original = store.current()
    store.history_dir.write_text("a file where the history folder should be")
    with pytest.raises(ConfigError, match="cannot save calibration"):
        store.apply(load_calibration(EXAMPLES / "tud-campus.json"))
    assert store.current() == original
    assert load_calibration(store.path) == original
