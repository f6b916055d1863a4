"""`ValidationRecord` arithmetic and verdicts, the clip-level sum of a replay, and the JSON document.

Errors are device minus reference per direction; accuracy is 1 - (|error in| + |error out|) /
reference total, so a person counted in the wrong direction costs two; fewer reference crossings
than `min_people` make the verdict inconclusive. Every document must validate against the shipped
JSON Schema and read back into an equal record.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta, timezone

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.deliver import VALIDATION_SCHEMA, payload_schema
from edge.records import LineId, ValidationRecord, Verdict
from edge.validation import validation_document, validation_from_document
from edge.validation.replay import ReplayResult, format_result

START = datetime(2024, 5, 17, 9, 30, tzinfo=UTC)
VALIDATOR = jsonschema.Draft202012Validator(
    payload_schema(VALIDATION_SCHEMA), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
)


def record(
    reference_in: int = 10,
    reference_out: int = 10,
    device_in: int = 10,
    device_out: int = 10,
    *,
    tolerance: float = 0.10,
    min_people: int = 10,
    **changes: object,
) -> ValidationRecord:
    base = ValidationRecord(
        validation_id="0123456789abcdef",
        mode="on-site",
        site_id="market-square",
        device_id="pi-7",
        line_id=LineId("door"),
        started_at=START,
        ended_at=START + timedelta(minutes=15),
        reference_in=reference_in,
        reference_out=reference_out,
        device_in=device_in,
        device_out=device_out,
        tolerance=tolerance,
        min_people=min_people,
        operator="Camille D.",
        software_version="0.1.0",
        model_name="yolox_nano.onnx",
        model_sha256="ab" * 32,
        calibration_version="0123456789ab",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def validate(document: dict[str, object]) -> None:
    VALIDATOR.validate(document)


# (reference in, out, device in, out, tolerance, min_people) -> (error in, out, total, accuracy, verdict)
ARITHMETIC = [
    pytest.param((10, 10, 10, 10, 0.10, 10), (0, 0, 0, 1.0, Verdict.PASS), id="exact"),
    pytest.param((6, 4, 5, 4, 0.10, 10), (-1, 0, 1, 0.9, Verdict.PASS), id="9-of-10-at-10%-passes"),
    pytest.param((20, 10, 18, 9, 0.10, 10), (-2, -1, 3, 0.9, Verdict.PASS), id="27-of-30-at-10%-passes"),
    pytest.param((6, 4, 4, 4, 0.10, 10), (-2, 0, 2, 0.8, Verdict.FAIL), id="8-of-10-fails"),
    pytest.param((6, 4, 5, 5, 0.10, 10), (-1, 1, 2, 0.8, Verdict.FAIL), id="one-swapped-counts-twice"),
    pytest.param((5, 5, 7, 3, 0.10, 10), (2, -2, 4, 0.6, Verdict.FAIL), id="over-and-under-never-cancel"),
    pytest.param((10, 0, 12, 0, 0.20, 10), (2, 0, 2, 0.8, Verdict.PASS), id="overcount-within-20%"),
    pytest.param((5, 5, 25, 0, 0.10, 10), (20, -5, 25, -1.5, Verdict.FAIL), id="accuracy-below-zero"),
    pytest.param((10, 10, 10, 9, 0.0, 10), (0, -1, 1, 0.95, Verdict.FAIL), id="zero-tolerance-one-miss"),
    pytest.param((4, 5, 4, 5, 0.10, 10), (0, 0, 0, 1.0, Verdict.INCONCLUSIVE), id="below-min-people"),
    pytest.param((4, 5, 0, 0, 0.10, 10), (-4, -5, 9, 0.0, Verdict.INCONCLUSIVE), id="below-min-even-if-bad"),
    pytest.param((5, 5, 5, 5, 0.10, 10), (0, 0, 0, 1.0, Verdict.PASS), id="exactly-min-people-judged"),
    pytest.param((0, 0, 3, 0, 0.10, 1), (3, 0, 3, None, Verdict.INCONCLUSIVE), id="reference-zero"),
]


@pytest.mark.parametrize(("counts", "expected"), ARITHMETIC)
def test_errors_accuracy_and_verdict(
    counts: tuple[int, int, int, int, float, int], expected: tuple[int, int, int, float | None, Verdict]
) -> None:
    reference_in, reference_out, device_in, device_out, tolerance, min_people = counts
    checked = record(
        reference_in, reference_out, device_in, device_out, tolerance=tolerance, min_people=min_people
    )
    error_in, error_out, error_total, accuracy, verdict = expected
    assert (checked.error_in, checked.error_out, checked.error_total) == (error_in, error_out, error_total)
    assert checked.reference_total == reference_in + reference_out
    if accuracy is None:
        assert checked.accuracy is None
    else:
        assert checked.accuracy == pytest.approx(accuracy)
    assert checked.verdict is verdict


@given(
    reference_in=st.integers(0, 100_000),
    reference_out=st.integers(0, 100_000),
    device_in=st.integers(0, 100_000),
    device_out=st.integers(0, 100_000),
    tolerance_percent=st.integers(0, 99),
    min_people=st.integers(1, 50),
)
def test_verdict_matches_exact_integer_arithmetic(
    reference_in: int,
    reference_out: int,
    device_in: int,
    device_out: int,
    tolerance_percent: int,
    min_people: int,
) -> None:
    checked = record(
        reference_in,
        reference_out,
        device_in,
        device_out,
        tolerance=tolerance_percent / 100,
        min_people=min_people,
    )
    reference = reference_in + reference_out
    errors = abs(device_in - reference_in) + abs(device_out - reference_out)
    if reference < min_people:
        expected = Verdict.INCONCLUSIVE
    elif errors * 100 <= tolerance_percent * reference:  # exact: no float in the oracle
        expected = Verdict.PASS
    else:
        expected = Verdict.FAIL
    assert checked.verdict is expected
    # Mirroring both counts (in <-> out) is the same check seen from the other side.
    mirrored = record(
        reference_out,
        reference_in,
        device_out,
        device_in,
        tolerance=tolerance_percent / 100,
        min_people=min_people,
    )
    assert (mirrored.error_total, mirrored.accuracy, mirrored.verdict) == (
        checked.error_total,
        checked.accuracy,
        checked.verdict,
    )


class TestDocument:
    @pytest.mark.parametrize(
        "checked",
        [
            pytest.param(record(), id="pass"),
            pytest.param(record(6, 4, 5, 5), id="fail"),
            pytest.param(record(0, 0, 2, 1, min_people=1), id="no-reference"),
            pytest.param(record(5, 5, 50, 50), id="negative-accuracy"),
            pytest.param(record(mode="replay", operator="/clips/street.mp4"), id="replay"),
        ],
    )
    def test_round_trip_and_schema(self, checked: ValidationRecord) -> None:
        document = validation_document(checked)
        validate(document)
        # What is stored and published is plain JSON (no NaN, no datetime objects).
        reread = json.loads(json.dumps(document, allow_nan=False))
        assert validation_from_document(reread) == checked

    def test_derived_figures_are_written_out(self) -> None:
        checked = record(12, 5, 11, 4, min_people=10)
        document = validation_document(checked)
        assert document["reference"] == {"in": 12, "out": 5}
        assert document["device"] == {"in": 11, "out": 4}
        assert document["error"] == {"in": -1, "out": -1, "total": 2}
        assert document["accuracy"] == round(1 - 2 / 17, 4)
        assert document["verdict"] == "fail"
        assert document["duration_s"] == 900.0
        assert document["started_at"] == "2024-05-17T09:30:00Z"

    def test_times_in_another_zone_are_written_in_utc(self) -> None:
        paris = timezone(timedelta(hours=2))
        checked = record(
            started_at=datetime(2024, 5, 17, 11, 30, tzinfo=paris),
            ended_at=datetime(2024, 5, 17, 11, 45, 0, 250_000, tzinfo=paris),
        )
        document = validation_document(checked)
        validate(document)
        assert document["started_at"] == "2024-05-17T09:30:00Z"
        assert document["ended_at"] == "2024-05-17T09:45:00.250000Z"
        assert validation_from_document(document) == checked

    @pytest.mark.parametrize("field", ["started_at", "ended_at"])
    def test_a_naive_datetime_is_rejected(self, field: str) -> None:
        naive_time = datetime(2024, 5, 17, 9, 45)  # no tzinfo, on purpose
        naive = record(started_at=naive_time) if field == "started_at" else record(ended_at=naive_time)
        with pytest.raises(ValueError, match="naive"):
            validation_document(naive)

    def test_read_back_recomputes_figures_instead_of_trusting_them(self) -> None:
        document = validation_document(record(10, 10, 2, 2))
        document.update(accuracy=1.0, verdict="pass", error={"in": 0, "out": 0, "total": 0})
        assert validation_from_document(document).verdict is Verdict.FAIL

    def test_another_schema_is_refused(self) -> None:
        document = validation_document(record())
        document["schema"] = "footfall-edge/counts/v1"
        with pytest.raises(ValueError, match="footfall-edge/counts/v1"):
            validation_from_document(document)

    @given(
        counts=st.tuples(*[st.integers(0, 100_000)] * 4),
        tolerance=st.floats(0.0, 0.99),
        min_people=st.integers(1, 1000),
        started_at=st.datetimes(
            min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
        ),
        duration=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=2)),
        operator=st.text(max_size=64),
        line_id=st.from_regex(r"[a-z][a-z0-9_-]{0,31}", fullmatch=True),
        mode=st.sampled_from(["on-site", "replay"]),
    )
    def test_every_document_validates_and_reads_back(
        self,
        counts: tuple[int, int, int, int],
        tolerance: float,
        min_people: int,
        started_at: datetime,
        duration: timedelta,
        operator: str,
        line_id: str,
        mode: str,
    ) -> None:
        checked = record(
            *counts,
            tolerance=tolerance,
            min_people=min_people,
            started_at=started_at,
            ended_at=started_at + duration,
            operator=operator,
            line_id=LineId(line_id),
            mode=mode,
        )
        document = validation_document(checked)
        validate(document)
        assert document["verdict"] == checked.verdict
        assert validation_from_document(json.loads(json.dumps(document))) == checked


class TestReplayResult:
    """The clip as a whole: the sum over its lines, with the same rule as one line."""

    def result(self, *records: ValidationRecord) -> ReplayResult:
        return ReplayResult("street.mp4", 300, 42.9, records)

    def test_errors_of_two_lines_never_cancel(self) -> None:
        over = record(5, 5, 7, 5, line_id=LineId("north"))  # +2
        under = record(5, 5, 3, 5, line_id=LineId("south"))  # -2
        result = self.result(over, under)
        assert result.reference_total == 20
        assert result.error_total == 4
        assert result.accuracy == pytest.approx(0.8)
        assert result.verdict is Verdict.FAIL

    def test_lines_too_small_alone_can_pass_together(self) -> None:
        lines = [record(3, 3, 3, 3, line_id=LineId(name)) for name in ("a", "b")]
        assert [line.verdict for line in lines] == [Verdict.INCONCLUSIVE] * 2
        result = self.result(*lines)
        assert result.accuracy == 1.0
        assert result.verdict is Verdict.PASS

    @pytest.mark.parametrize(
        "records",
        [
            pytest.param((), id="no-line"),
            pytest.param((record(0, 0, 4, 0, min_people=1),), id="nobody-crossed"),
            pytest.param((record(2, 2, 2, 2),), id="below-min-people"),
        ],
    )
    def test_inconclusive(self, records: tuple[ValidationRecord, ...]) -> None:
        assert self.result(*records).verdict is Verdict.INCONCLUSIVE

    def test_table_shows_every_line_and_the_clip(self) -> None:
        text = format_result(
            self.result(
                record(7, 2, 6, 2, line_id=LineId("north")), record(3, 9, 3, 9, line_id=LineId("south"))
            )
        )
        rows = {row.split()[0]: row.split() for row in text.splitlines()[2:]}
        assert rows["north"][1:4] == ["7/2", "6/2", "-1/+0"]
        assert rows["south"][1:4] == ["3/9", "3/9", "+0/+0"]
        assert rows["all"][2:4] == ["21", "1"]  # "all lines": 21 reference crossings, 1 error
        assert "300 frames" in text
