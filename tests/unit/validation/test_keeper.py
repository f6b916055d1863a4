"""RunningKeeper and ValidationSession.resume: a running validation across a restart (D-053)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from edge.records import CountEvents, Crossing, Direction, LineId
from edge.validation import DeviceFacts, RunningKeeper, ValidationSession

FACTS = DeviceFacts("site", "cam-1", "0.1.0", "yolox_nano.onnx", "0" * 64, tolerance=0.1, min_people=2)
START = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


def _session_with_a_count() -> ValidationSession:
    session = ValidationSession(FACTS)
    session.start("door", "Alice", lines=("door",), calibration_version="abc", now=START)
    session.observe(START + timedelta(seconds=1))
    session.add(CountEvents(1, 1.0, (Crossing(LineId("door"), Direction.IN, 1.0, 1),) * 2, (), ()))
    session.set_reference(3, 1, now=START + timedelta(seconds=60))
    return session


def test_a_kept_validation_resumes_with_both_counts_and_finishes_as_one_record(tmp_path: Path) -> None:
    keeper = RunningKeeper(tmp_path / "running.json")
    before = _session_with_a_count()
    keeper.keep(before.running_state())
    after = ValidationSession(FACTS)  # the next process
    kept = keeper.load()
    assert kept == before.running_state()
    assert kept is not None
    after.resume(kept)
    record = after.finish(4, 1, now=START + timedelta(seconds=120))
    assert (record.validation_id, record.reference_in, record.device_in) == (kept.validation_id, 4, 2)
    assert record.coverage is not None
    assert record.coverage < 0.6  # the minute the device was off was not observed
    keeper.keep(after.running_state())
    assert not (tmp_path / "running.json").exists()


@pytest.mark.parametrize(
    "content",
    [pytest.param("{not json", id="broken"), pytest.param('{"line_id": "door"}', id="incomplete")],
)
def test_an_unreadable_file_is_dropped_with_a_warning(
    tmp_path: Path, content: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "running.json"
    path.write_text(content, encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        assert RunningKeeper(path).load() is None
    assert "cannot be read" in caplog.text
    assert not path.exists()
