"""A validation knows how much of its span the device was looking: a blind spell makes it inconclusive."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import jsonschema
import pytest

from edge.deliver import VALIDATION_SCHEMA, payload_schema
from edge.records import MIN_VALIDATION_COVERAGE, CountEvents, Crossing, Direction, LineId, Verdict
from edge.validation import DeviceFacts, ValidationSession, validation_document, validation_from_document
from edge.validation.session import MAX_FRAME_GAP_S

START = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
FACTS = DeviceFacts(
    "main-street", "cam-1", "0.1.0", "yolox_nano.onnx", "ab" * 32, tolerance=0.1, min_people=10
)


def session_with_frames(gaps: list[tuple[float, float]]) -> ValidationSession:
    """A session on line `a` fed frames every `step` seconds over each (from_s, to_s) stretch."""
    session = ValidationSession(FACTS)
    session.start("a", "", lines=("a",), calibration_version="0123456789ab", now=START)
    crossing = Crossing(LineId("a"), Direction.IN, 0.0, 0)
    for from_s, to_s in gaps:
        moment = from_s
        while moment <= to_s:
            session.add(CountEvents(0, moment, (crossing,) if moment == from_s else (), (), ()))
            session.observe(START + timedelta(seconds=moment))
            moment = round(moment + 0.1, 6)
    return session


def test_frames_all_along_give_full_coverage() -> None:
    session = session_with_frames([(0.1, 60.0)])
    progress = session.progress(START + timedelta(seconds=60))
    assert progress is not None
    assert progress.coverage == pytest.approx(1.0)
    record = session.finish(1, 0, now=START + timedelta(seconds=60))
    assert record.coverage == pytest.approx(1.0)


def test_a_stalled_camera_lowers_coverage_and_the_verdict_says_inconclusive() -> None:
    # Frames for 0-20 s and 50-60 s: a 30 s stall of which only MAX_FRAME_GAP_S counts as looking.
    session = session_with_frames([(0.1, 20.0), (50.0, 60.0)])
    record = session.finish(2, 0, now=START + timedelta(seconds=60))
    assert record.coverage == pytest.approx((20.0 + MAX_FRAME_GAP_S + 10.0) / 60.0, abs=0.01)
    assert record.coverage is not None
    assert record.coverage < MIN_VALIDATION_COVERAGE
    # Counts that match perfectly are still no evidence when the device was blind for half of it.
    judged = replace(record, reference_in=12, device_in=12)
    assert judged.verdict is Verdict.INCONCLUSIVE
    seeing = replace(judged, coverage=MIN_VALIDATION_COVERAGE)
    assert seeing.verdict is Verdict.PASS


def test_a_camera_that_dies_before_the_end_is_counted_as_blind_for_the_rest() -> None:
    session = session_with_frames([(0.1, 30.0)])
    record = session.finish(0, 0, now=START + timedelta(seconds=90))
    assert record.coverage == pytest.approx((30.0 + MAX_FRAME_GAP_S) / 90.0, abs=0.01)


def test_without_frame_reports_coverage_is_unknown_and_does_not_judge() -> None:
    session = ValidationSession(FACTS)
    session.start("a", "", lines=("a",), calibration_version="0123456789ab", now=START)
    record = session.finish(12, 0, now=START + timedelta(seconds=30))
    assert record.coverage is None
    assert record.verdict is Verdict.FAIL  # judged on the counts alone: 0 of 12


def test_coverage_is_in_the_document_and_read_back() -> None:
    record = session_with_frames([(0.1, 20.0), (50.0, 60.0)]).finish(2, 0, now=START + timedelta(seconds=60))
    document = validation_document(record)
    jsonschema.validate(document, payload_schema(VALIDATION_SCHEMA))
    assert document["coverage"] == round(record.coverage or 0.0, 4)
    assert validation_from_document(document).coverage == pytest.approx(record.coverage, abs=1e-4)
    unknown = validation_document(replace(record, coverage=None))
    jsonschema.validate(unknown, payload_schema(VALIDATION_SCHEMA))
    assert unknown["coverage"] is None
