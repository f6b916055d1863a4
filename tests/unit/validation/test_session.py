"""`ValidationSession`: one on-site check at a time, the device's crossings of one line, hand totals."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import jsonschema
import pytest

from edge.deliver import VALIDATION_SCHEMA, payload_schema
from edge.errors import ValidationError
from edge.records import CountEvents, Crossing, Direction, LineId, Verdict
from edge.validation import DeviceFacts, ValidationSession, validation_document
from edge.validation.session import MAX_REFERENCE_COUNT

LINES = ("door", "gate")
CALIBRATION = "0123456789ab"
T0 = datetime(2024, 5, 17, 9, 30, tzinfo=UTC)
FACTS = DeviceFacts(
    site_id="market-square",
    device_id="pi-7",
    software_version="0.1.0",
    model_name="yolox_nano.onnx",
    model_sha256="ab" * 32,
    tolerance=0.10,
    min_people=10,
)


def events(*crossings: tuple[str, Direction]) -> CountEvents:
    return CountEvents(
        frame_index=0,
        timestamp_s=0.0,
        crossings=tuple(Crossing(LineId(line), direction, 0.0, 0) for line, direction in crossings),
        occupancy=(),
        visits=(),
    )


def started(line_id: str = "door", operator: str = "Camille D.") -> ValidationSession:
    session = ValidationSession(FACTS)
    session.start(line_id, operator, lines=LINES, calibration_version=CALIBRATION, now=T0)
    return session


IN, OUT = Direction.IN, Direction.OUT


class TestStart:
    def test_progress_starts_at_zero(self) -> None:
        session = ValidationSession(FACTS)
        assert session.progress(T0) is None
        progress = session.start("gate", "Camille", lines=LINES, calibration_version=CALIBRATION, now=T0)
        assert progress.line_id == "gate"
        assert progress.started_at == T0
        assert progress.elapsed_s == 0.0
        assert (progress.reference_in, progress.reference_out) == (0, 0)
        assert (progress.device_in, progress.device_out) == (0, 0)
        assert session.progress(T0) == progress

    def test_unknown_line_names_it_and_the_calibrated_ones(self) -> None:
        session = ValidationSession(FACTS)
        with pytest.raises(ValidationError, match=r"unknown line 'window'.*door, gate"):
            session.start("window", "", lines=LINES, calibration_version=CALIBRATION, now=T0)
        assert session.progress(T0) is None

    def test_no_calibrated_line(self) -> None:
        with pytest.raises(ValidationError, match="calibrated lines: none"):
            ValidationSession(FACTS).start("door", "", lines=(), calibration_version=CALIBRATION, now=T0)

    def test_second_start_is_refused_and_the_first_goes_on(self) -> None:
        session = started("door")
        session.add(events(("door", IN)))
        with pytest.raises(ValidationError, match=r"line 'door' is running; stop or cancel it first"):
            session.start("gate", "", lines=LINES, calibration_version="ffffffffffff", now=T0)
        progress = session.progress(T0)
        assert progress is not None
        assert (progress.line_id, progress.device_in) == ("door", 1)

    def test_operator_whitespace_is_folded_and_length_bounded(self) -> None:
        folded = started(operator="  Camille \t D.\n").progress(T0)
        long_name = started(operator="x" * 500).progress(T0)
        assert folded is not None
        assert long_name is not None
        assert folded.operator == "Camille D."
        assert long_name.operator == "x" * 64

    @pytest.mark.parametrize(
        ("tolerance", "min_people", "argument"),
        [
            pytest.param(-0.01, 10, "tolerance", id="negative-tolerance"),
            pytest.param(1.0, 10, "tolerance", id="tolerance-one"),
            pytest.param(0.1, 0, "min_people", id="zero-min-people"),
        ],
    )
    def test_facts_refuse_a_rule_that_cannot_judge(
        self, tolerance: float, min_people: int, argument: str
    ) -> None:
        with pytest.raises(ValueError, match=argument):
            DeviceFacts("s", "d", "0.1.0", "m.onnx", "ab" * 32, tolerance=tolerance, min_people=min_people)


class TestCounting:
    def test_only_crossings_of_the_chosen_line_are_added_per_direction(self) -> None:
        session = started("door")
        session.add(events(("door", IN), ("gate", IN), ("door", IN), ("door", OUT)))
        session.add(events(("gate", OUT), ("gate", OUT)))
        session.add(events())
        session.add(events(("door", OUT)))
        progress = session.progress(T0)
        assert progress is not None
        assert (progress.device_in, progress.device_out) == (2, 2)

    def test_crossings_outside_a_validation_are_not_kept(self) -> None:
        session = ValidationSession(FACTS)
        session.add(events(("door", IN)))  # nothing running: ignored
        session.start("door", "", lines=LINES, calibration_version=CALIBRATION, now=T0)
        progress = session.progress(T0)
        assert progress is not None
        assert progress.device_in == 0

    def test_reference_is_a_total_not_an_increment(self) -> None:
        session = started()
        session.set_reference(3, 1, now=T0)
        again = session.set_reference(3, 1, now=T0)  # a retried request counts once
        assert (again.reference_in, again.reference_out) == (3, 1)
        lower = session.set_reference(2, 1, now=T0)  # an undo on the page
        assert (lower.reference_in, lower.reference_out) == (2, 1)

    @pytest.mark.parametrize(
        ("reference_in", "reference_out", "name"),
        [
            pytest.param(-1, 0, "in", id="negative-in"),
            pytest.param(0, -5, "out", id="negative-out"),
            pytest.param(MAX_REFERENCE_COUNT + 1, 0, "in", id="absurd-in"),
            pytest.param(0, 1_000_000, "out", id="absurd-out"),
        ],
    )
    def test_hand_counts_out_of_bounds_are_refused(
        self, reference_in: int, reference_out: int, name: str
    ) -> None:
        session = started()
        session.set_reference(4, 4, now=T0)
        with pytest.raises(ValidationError, match=f"hand count {name} must be in 0..100000"):
            session.set_reference(reference_in, reference_out, now=T0)
        with pytest.raises(ValidationError, match=f"hand count {name}"):
            session.finish(reference_in, reference_out, now=T0)
        # Neither refusal changed or ended the running validation.
        progress = session.progress(T0)
        assert progress is not None
        assert (progress.reference_in, progress.reference_out) == (4, 4)

    def test_largest_hand_count_is_accepted(self) -> None:
        progress = started().set_reference(MAX_REFERENCE_COUNT, 0, now=T0)
        assert progress.reference_in == MAX_REFERENCE_COUNT

    def test_elapsed_time_follows_the_given_clock(self) -> None:
        session = started()
        progress = session.progress(T0 + timedelta(minutes=2, seconds=30))
        assert progress is not None
        assert progress.elapsed_s == 150.0
        assert session.set_reference(1, 0, now=T0 + timedelta(seconds=10)).elapsed_s == 10.0
        # A wall clock stepped back (NTP) never shows a negative duration.
        earlier = session.progress(T0 - timedelta(seconds=5))
        assert earlier is not None
        assert earlier.elapsed_s == 0.0

    def test_many_threads_adding_crossings_lose_none(self) -> None:
        session = started("door")
        threads, batches = 8, 400
        barrier = threading.Barrier(threads)

        def count() -> None:
            barrier.wait()
            for _ in range(batches):
                session.add(events(("door", IN), ("gate", IN), ("door", OUT), ("door", IN)))
                session.progress(T0)

        with ThreadPoolExecutor(threads) as pool:
            for future in [pool.submit(count) for _ in range(threads)]:
                future.result()
        record = session.finish(0, 0, now=T0)
        assert (record.device_in, record.device_out) == (2 * threads * batches, threads * batches)


class TestFinish:
    def test_record_states_the_facts_the_counts_and_the_calibration_at_start(self) -> None:
        session = started("door", operator="Camille D.")
        for _ in range(9):
            session.add(events(("door", IN)))
        session.add(events(("door", OUT), ("gate", OUT)))
        session.set_reference(5, 5, now=T0 + timedelta(minutes=5))
        ended = T0 + timedelta(minutes=15)
        record = session.finish(9, 1, now=ended)
        assert (record.reference_in, record.reference_out) == (9, 1)  # the final count, not the last update
        assert (record.device_in, record.device_out) == (9, 1)
        assert record.verdict is Verdict.PASS
        assert (record.started_at, record.ended_at) == (T0, ended)
        assert record.mode == "on-site"
        assert record.line_id == "door"
        assert record.operator == "Camille D."
        assert record.calibration_version == CALIBRATION
        assert (record.site_id, record.device_id) == (FACTS.site_id, FACTS.device_id)
        assert (record.software_version, record.model_name, record.model_sha256) == (
            FACTS.software_version,
            FACTS.model_name,
            FACTS.model_sha256,
        )
        assert (record.tolerance, record.min_people) == (FACTS.tolerance, FACTS.min_people)
        jsonschema.validate(validation_document(record), payload_schema(VALIDATION_SCHEMA))

    def test_finish_ends_the_session(self) -> None:
        session = started()
        first = session.finish(1, 1, now=T0)
        assert session.progress(T0) is None
        session.add(events(("door", IN)))  # after the end: counted nowhere
        with pytest.raises(ValidationError, match=r"^no validation is running$"):
            session.finish(1, 1, now=T0)
        second = session.start("door", "", lines=LINES, calibration_version=CALIBRATION, now=T0)
        assert second.device_in == 0
        assert second.validation_id != first.validation_id

    def test_nothing_to_finish(self) -> None:
        session = ValidationSession(FACTS)
        with pytest.raises(ValidationError, match="no validation is running"):
            session.set_reference(1, 1, now=T0)
        with pytest.raises(ValidationError, match="no validation is running"):
            session.finish(1, 1, now=T0)


class TestCancel:
    def test_next_request_says_it_was_cancelled_and_why(self) -> None:
        session = started()
        assert session.cancel("the calibration changed") is True
        assert session.progress(T0) is None
        for attempt in (
            lambda: session.set_reference(1, 1, now=T0),
            lambda: session.finish(1, 1, now=T0),
        ):
            with pytest.raises(ValidationError, match=r"cancelled: the calibration changed"):
                attempt()

    def test_cancel_with_nothing_running(self) -> None:
        assert ValidationSession(FACTS).cancel("shutdown") is False

    def test_a_new_validation_forgets_the_cancelled_one(self) -> None:
        session = started()
        session.cancel("the calibration changed")
        session.start("gate", "", lines=LINES, calibration_version=CALIBRATION, now=T0)
        record = session.finish(0, 0, now=T0)
        assert record.line_id == "gate"
        with pytest.raises(ValidationError, match=r"^no validation is running$"):
            session.finish(0, 0, now=T0)
