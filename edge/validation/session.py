"""`ValidationSession`: one on-site check at a time, a hand count next to the device's count of a line.

The technician's page owns the hand count and sends its running totals (absolute, so a repeated
request after a dropped connection cannot count a tap twice); the session adds up the device's
crossings of the chosen line from the counting loop. Finishing turns both into a
`ValidationRecord`. A calibration change while it runs ends it unrecorded: the device's count
would mix two geometries.
"""

from __future__ import annotations

import logging
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from edge.errors import ValidationError
from edge.records import CountEvents, Direction, LineId, ValidationProgress, ValidationRecord

logger = logging.getLogger(__name__)

# Longest operator name kept, characters.
MAX_OPERATOR_CHARS = 64
# Longest gap between two frames still counted as the device looking, seconds: frames come every
# 0.1-0.5 s, so a longer gap means the camera stalled or failed.
MAX_FRAME_GAP_S = 2.0
# Largest hand count accepted per direction: far above any 15-minute count, rejects garbage.
MAX_REFERENCE_COUNT = 100_000


@dataclass(frozen=True, slots=True)
class DeviceFacts:
    """What every record of this device states about it and about the verdict rule."""

    site_id: str
    device_id: str
    software_version: str
    model_name: str
    model_sha256: str
    tolerance: float
    min_people: int

    def __post_init__(self) -> None:
        if not 0.0 <= self.tolerance < 1.0:
            raise ValueError(f"tolerance must be in [0, 1), got {self.tolerance}")
        if self.min_people < 1:
            raise ValueError(f"min_people must be >= 1, got {self.min_people}")

    def record(
        self,
        validation_id: str,
        mode: str,
        line_id: LineId,
        span: tuple[datetime, datetime],
        *,
        reference: tuple[int, int],
        device: tuple[int, int],
        operator: str,
        calibration_version: str,
        coverage: float | None = None,
    ) -> ValidationRecord:
        """A record of this device: `reference` and `device` are (in, out) over `span` (start, end)."""
        return ValidationRecord(
            validation_id=validation_id,
            mode=mode,
            site_id=self.site_id,
            device_id=self.device_id,
            line_id=line_id,
            started_at=span[0],
            ended_at=span[1],
            reference_in=reference[0],
            reference_out=reference[1],
            device_in=device[0],
            device_out=device[1],
            tolerance=self.tolerance,
            min_people=self.min_people,
            operator=operator,
            software_version=self.software_version,
            model_name=self.model_name,
            model_sha256=self.model_sha256,
            calibration_version=calibration_version,
            coverage=coverage,
        )


@dataclass(frozen=True, slots=True)
class RunningValidation:
    """A running validation as kept across a restart: (in, out) pairs, seconds the device looked."""

    validation_id: str
    line_id: str
    operator: str
    calibration_version: str
    started_at: datetime
    reference: tuple[int, int]
    device: tuple[int, int]
    observed_s: float


@dataclass(slots=True)
class _Running:
    validation_id: str
    line_id: LineId
    operator: str
    calibration_version: str
    started_at: datetime
    reference_in: int = 0
    reference_out: int = 0
    device_in: int = 0
    device_out: int = 0
    observed_s: float = 0.0
    last_frame_at: datetime | None = None

    def coverage(self, now: datetime) -> float | None:
        """Share of the span with frames arriving; None if no frame was ever reported."""
        if self.last_frame_at is None:
            return None
        span_s = (now - self.started_at).total_seconds()
        if span_s <= 0:
            return 1.0
        tail_s = min(max(0.0, (now - self.last_frame_at).total_seconds()), MAX_FRAME_GAP_S)
        return min(1.0, (self.observed_s + tail_s) / span_s)


class ValidationSession:
    """The running on-site validation, if any; every method is thread-safe.

    Args:
        facts: the device's identity and the verdict rule.
    """

    def __init__(self, facts: DeviceFacts) -> None:
        self.facts = facts
        self._lock = threading.Lock()
        self._running: _Running | None = None
        # Why the last validation ended without a record, told to whoever tries to go on with it.
        self._cancelled: str | None = None

    def start(
        self, line_id: str, operator: str, *, lines: tuple[str, ...], calibration_version: str, now: datetime
    ) -> ValidationProgress:
        """Start counting `line_id` from `now`.

        Raises:
            ValidationError: one is already running, or `line_id` is not a calibrated line.
        """
        if line_id not in lines:
            known = ", ".join(lines) or "none"
            raise ValidationError(f"unknown line {line_id!r} (calibrated lines: {known})")
        operator = " ".join(operator.split())[:MAX_OPERATOR_CHARS]
        with self._lock:
            if self._running is not None:
                line = self._running.line_id
                raise ValidationError(f"a validation of line {line!r} is running; stop or cancel it first")
            self._running = _Running(
                secrets.token_hex(8), LineId(line_id), operator, calibration_version, now
            )
            self._cancelled = None
            logger.info("validation of line %s started", line_id)
            return self._progress(self._running, now)

    def add(self, events: CountEvents) -> None:
        """Add the device's crossings of the line being checked (called by the counting loop)."""
        if not events.crossings:
            return
        with self._lock:
            running = self._running
            if running is None:
                return
            for crossing in events.crossings:
                if crossing.line_id != running.line_id:
                    continue
                if crossing.direction is Direction.IN:
                    running.device_in += 1
                else:
                    running.device_out += 1

    def observe(self, at: datetime) -> None:
        """A frame went through the counter at `at` (called by the counting loop, for coverage)."""
        with self._lock:
            running = self._running
            if running is None:
                return
            previous = running.last_frame_at or running.started_at
            gap_s = (at - previous).total_seconds()
            if gap_s > 0:
                running.observed_s += min(gap_s, MAX_FRAME_GAP_S)
                running.last_frame_at = at
            elif running.last_frame_at is None:
                running.last_frame_at = at

    def set_reference(self, reference_in: int, reference_out: int, *, now: datetime) -> ValidationProgress:
        """Record the hand count so far (totals, not increments).

        Raises:
            ValidationError: none is running, or a count is negative or absurd.
        """
        _check_counts(reference_in, reference_out)
        with self._lock:
            running = self._require()
            running.reference_in, running.reference_out = reference_in, reference_out
            return self._progress(running, now)

    def progress(self, now: datetime) -> ValidationProgress | None:
        with self._lock:
            return None if self._running is None else self._progress(self._running, now)

    def finish(self, reference_in: int, reference_out: int, *, now: datetime) -> ValidationRecord:
        """End the check with the final hand count; the caller stores and publishes the record.

        Raises:
            ValidationError: none is running, or a count is negative or absurd.
        """
        _check_counts(reference_in, reference_out)
        with self._lock:
            running = self._require()
            self._running = None
        record = self.facts.record(
            running.validation_id,
            "on-site",
            running.line_id,
            (running.started_at, now),
            reference=(reference_in, reference_out),
            device=(running.device_in, running.device_out),
            operator=running.operator,
            calibration_version=running.calibration_version,
            coverage=running.coverage(now),
        )
        logger.info(
            "validation of line %s finished: reference %d/%d, device %d/%d, %s",
            record.line_id,
            reference_in,
            reference_out,
            record.device_in,
            record.device_out,
            record.verdict,
        )
        return record

    def cancel(self, reason: str) -> bool:
        """Drop the running validation without a record; False when none was running."""
        with self._lock:
            running, self._running = self._running, None
            if running is not None:
                self._cancelled = f"cancelled: {reason}"
        if running is not None:
            logger.info("validation of line %s cancelled: %s", running.line_id, reason)
        return running is not None

    def running_state(self) -> RunningValidation | None:
        """The running validation as a record, to keep across a restart (`edge.validation.keeper`)."""
        with self._lock:
            running = self._running
            if running is None:
                return None
            return RunningValidation(
                running.validation_id,
                running.line_id,
                running.operator,
                running.calibration_version,
                running.started_at,
                (running.reference_in, running.reference_out),
                (running.device_in, running.device_out),
                running.observed_s,
            )

    def resume(self, state: RunningValidation) -> None:
        """Go on with a validation kept across a restart; the time the device was off is not observed.

        Raises:
            ValidationError: one is running already.
        """
        with self._lock:
            if self._running is not None:
                raise ValidationError("a validation is running already")
            self._running = _Running(
                state.validation_id,
                LineId(state.line_id),
                state.operator,
                state.calibration_version,
                state.started_at,
                reference_in=state.reference[0],
                reference_out=state.reference[1],
                device_in=state.device[0],
                device_out=state.device[1],
                observed_s=state.observed_s,
                # A moment in the past it had frames: the time off counts as not observed.
                last_frame_at=state.started_at + timedelta(seconds=state.observed_s)
                if state.observed_s
                else None,
            )
            self._cancelled = None
        logger.info("validation of line %s resumed after a restart", state.line_id)

    def _require(self) -> _Running:
        if self._running is None:
            if self._cancelled:
                raise ValidationError(f"no validation is running: the last one was {self._cancelled}")
            raise ValidationError("no validation is running")
        return self._running

    def _progress(self, running: _Running, now: datetime) -> ValidationProgress:
        return ValidationProgress(
            validation_id=running.validation_id,
            line_id=running.line_id,
            started_at=running.started_at,
            elapsed_s=max(0.0, (now - running.started_at).total_seconds()),
            reference_in=running.reference_in,
            reference_out=running.reference_out,
            device_in=running.device_in,
            device_out=running.device_out,
            operator=running.operator,
            tolerance=self.facts.tolerance,
            min_people=self.facts.min_people,
            coverage=running.coverage(now),
        )


def _check_counts(reference_in: int, reference_out: int) -> None:
    for name, value in (("in", reference_in), ("out", reference_out)):
        if not 0 <= value <= MAX_REFERENCE_COUNT:
            raise ValidationError(f"hand count {name} must be in 0..{MAX_REFERENCE_COUNT}, got {value}")
